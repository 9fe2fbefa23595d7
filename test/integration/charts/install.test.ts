// A real `helm install` of charts/stylekube into the test apiserver: every
// object is created (and the operator pods become ready: kwok plays the
// kubelet), an upgrade keeps the generated dashboard token, and
// `helm uninstall` removes everything again.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { CHART_DIR, parseManifests } from "../../../charts/generate.js";
import { runToolOk } from "../../../charts/tools.js";
import { readTestEnv } from "../../env/env-file.js";
import { adminKubeConfig, createNamespace, deleteNamespace, waitFor } from "../../support/kubernetes.js";

describe("helm install charts/stylekube into the test apiserver", () => {
  let kc: k8s.KubeConfig;
  let objects: k8s.KubernetesObjectApi;
  let namespace: string;
  let kubeconfig: string;
  const release = `sk-${randomBytes(3).toString("hex")}`;
  // Two replicas, the Ingress and token review: every kind the chart can create (but the
  // ServiceMonitor, whose CRD the test apiserver does not have).
  const values = [
    "--set=controller.replicas=2",
    "--set=dashboard.ingress.enabled=true",
    "--set=dashboard.tokenReview.enabled=true",
  ];
  const helm = (args: string[]) =>
    runToolOk("helm", [...args, "--kubeconfig", kubeconfig, "--namespace", namespace]);
  let manifests: ReturnType<typeof parseManifests> = [];

  const read = (o: { apiVersion?: unknown; kind: string; metadata?: unknown }) =>
    objects.read({
      apiVersion: String(o.apiVersion),
      kind: o.kind,
      metadata: {
        name: (o.metadata as { name: string }).name,
        // Cluster-scoped kinds have no namespace in the rendered manifest.
        namespace: (o.metadata as { namespace?: string }).namespace,
      },
    });
  const tokenNow = async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const s = await core.readNamespacedSecret({ name: `${release}-stylekube-dashboard`, namespace });
    return Buffer.from(s.data!.token!, "base64").toString("utf8");
  };

  before(async () => {
    kubeconfig = readTestEnv().kubeconfig;
    kc = adminKubeConfig();
    objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    namespace = await createNamespace(kc, "helm-install");
  });
  after(async () => {
    // Leave nothing behind even when a test failed half-way.
    try {
      helm(["uninstall", release, "--ignore-not-found"]);
    } finally {
      await deleteNamespace(kc, namespace);
    }
  });

  it("installs, waits for the operator Deployment, and creates every rendered object", async () => {
    helm(["install", release, CHART_DIR, "--wait", "--timeout", "3m", ...values]);
    manifests = parseManifests(helm(["get", "manifest", release]));
    assert.deepEqual([...new Set(manifests.map((o) => o.kind))].sort(), [
      "ClusterRole",
      "ClusterRoleBinding",
      "Deployment",
      "Ingress",
      "NetworkPolicy",
      "PodDisruptionBudget",
      "Role",
      "RoleBinding",
      "Secret",
      "Service",
      "ServiceAccount",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
    ]);
    for (const o of manifests) await assert.doesNotReject(read(o), `${o.kind} ${JSON.stringify(o.metadata)}`);
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const deploy = await apps.readNamespacedDeployment({
      name: `${release}-stylekube-controller`,
      namespace,
    });
    assert.equal(deploy.status?.readyReplicas, 2);
    // Helm's crds/ policy: installed when missing, never changed or removed by releases.
    const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
    for (const name of ["styletrainings.stylekube.io", "styleservers.stylekube.io"]) {
      await assert.doesNotReject(ext.readCustomResourceDefinition({ name }), name);
    }
  });

  it("an upgrade keeps the generated dashboard token (lookup)", async () => {
    const before = await tokenNow();
    assert.match(before, /^[A-Za-z0-9]{32}$/);
    helm(["upgrade", release, CHART_DIR, "--reuse-values", "--set=controller.logLevel=debug"]);
    assert.equal(await tokenNow(), before);
  });

  it("helm uninstall removes every object it created", async () => {
    assert.ok(manifests.length > 0, "the install test ran first");
    helm(["uninstall", release, "--wait", "--timeout", "2m"]);
    for (const o of manifests) {
      await waitFor(`${o.kind} ${JSON.stringify(o.metadata)} deleted`, async () => {
        try {
          await read(o);
          return false;
        } catch (err) {
          return err instanceof k8s.ApiException && err.code === 404;
        }
      });
    }
  });
});
