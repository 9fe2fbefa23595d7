// The chart's namespaced mode on the real apiserver: `helm install` with
// rbac.scope=namespaced gives the operator's ServiceAccount the operator's
// rules in the one watched namespace and nothing anywhere else (checked with
// SubjectAccessReview), and the operator, run with exactly that
// ServiceAccount's token, does its work there: a StyleServer becomes its
// Deployment, Service and PodDisruptionBudget and reports ready replicas, a
// StyleTraining gets its worker pod, the Lease lives in the release namespace.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { CHART_DIR } from "../../../charts/generate.js";
import { runToolOk } from "../../../charts/tools.js";
import { GROUP, VERSION } from "../../../common/api/index.js";
import { readTestEnv } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import {
  serviceAccountKubeconfig,
  startControllerProcess,
  type ControllerProcess,
} from "../../support/controller-process.js";
import {
  adminKubeConfig,
  applyCrds,
  createNamespace,
  deleteNamespace,
  releaseWorkerPods,
  waitFor,
} from "../../support/kubernetes.js";

describe("namespaced install (rbac.scope=namespaced) on the real apiserver", () => {
  let kc: k8s.KubeConfig;
  let releaseNs: string;
  let watchedNs: string;
  let otherNs: string;
  let controller: ControllerProcess | undefined;
  const release = `nsd-${randomBytes(3).toString("hex")}`;
  const operatorName = `${release}-stylekube-controller`;
  const work = mkdtempSync(join(tmpdir(), "stylekube-namespaced-"));
  const helm = (args: string[]) =>
    runToolOk("helm", [...args, "--kubeconfig", readTestEnv().kubeconfig, "--namespace", releaseNs]);

  before(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc);
    releaseNs = await createNamespace(kc, "nsd-release");
    watchedNs = await createNamespace(kc, "nsd-watched");
    otherNs = await createNamespace(kc, "nsd-other");
    helm([
      "install",
      release,
      CHART_DIR,
      "--set=rbac.scope=namespaced",
      `--set=controller.watchNamespace=${watchedNs}`,
    ]);
  });

  after(async () => {
    await controller?.stop();
    try {
      await releaseWorkerPods(kc, watchedNs);
      helm(["uninstall", release, "--ignore-not-found"]);
    } finally {
      await Promise.all([releaseNs, watchedNs, otherNs].map((n) => deleteNamespace(kc, n)));
      rmSync(work, { recursive: true, force: true });
    }
  });

  /** Whether the operator's ServiceAccount may do this (namespace "" is cluster-wide). */
  async function operatorMay(
    verb: string,
    resource: string,
    namespace: string,
    group = "",
  ): Promise<boolean> {
    const authz = kc.makeApiClient(k8s.AuthorizationV1Api);
    const r = await authz.createSubjectAccessReview({
      body: {
        spec: {
          user: `system:serviceaccount:${releaseNs}:${operatorName}`,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${releaseNs}`, "system:authenticated"],
          resourceAttributes: { namespace, group, resource, verb },
        },
      },
    });
    return r.status?.allowed === true;
  }

  it("grants the operator its rules in the watched namespace and nothing elsewhere", async () => {
    assert.equal(await operatorMay("create", "pods", watchedNs), true);
    assert.equal(await operatorMay("watch", "styletrainings", watchedNs, GROUP), true);
    assert.equal(await operatorMay("create", "poddisruptionbudgets", watchedNs, "policy"), true);
    // Its Lease, in its own namespace only.
    assert.equal(await operatorMay("update", "leases", releaseNs, "coordination.k8s.io"), true);
    for (const [verb, resource, namespace, group] of [
      ["create", "pods", otherNs, ""],
      ["create", "pods", releaseNs, ""],
      ["list", "pods", "", ""],
      ["list", "styletrainings", "", GROUP],
      ["create", "deployments", otherNs, "apps"],
      ["create", "secrets", otherNs, ""],
      ["create", "clusterroles", "", "rbac.authorization.k8s.io"],
      ["update", "leases", otherNs, "coordination.k8s.io"],
    ] as const) {
      assert.equal(
        await operatorMay(verb, resource, namespace, group),
        false,
        `${verb} ${resource} in "${namespace}"`,
      );
    }
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    const bindings = await rbac.listClusterRoleBinding();
    const toOperator = bindings.items.filter((b) =>
      (b.subjects ?? []).some((s) => s.name === operatorName && s.namespace === releaseNs),
    );
    assert.deepEqual(
      toOperator.map((b) => b.metadata?.name),
      [],
    );
  });

  it("the operator, with only that token, serves and trains in the watched namespace", async () => {
    const kubeconfig = await serviceAccountKubeconfig(kc, releaseNs, operatorName, join(work, "kubeconfig"));
    controller = await startControllerProcess(kubeconfig, {
      STYLEKUBE_WATCH_NAMESPACE: watchedNs,
      POD_NAMESPACE: releaseNs,
      POD_NAME: `${operatorName}-0`,
      STYLEKUBE_LEASE_NAME: operatorName,
      STYLEKUBE_NATS_URL: readTestEnv().natsUrl,
      // Pods run on kwok, which has no network: nothing answers their metadata.
      STYLEKUBE_SERVER_METADATA_URL: "http://127.0.0.1:9/v2",
      STYLEKUBE_STATUS_INTERVAL_MS: "200",
    });
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: watchedNs,
      plural: "styleservers",
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "StyleServer",
        metadata: { name: "api" },
        spec: { replicas: 2, resources: { cpu: "100m", memory: "256Mi" } },
      },
    });
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: watchedNs,
      plural: "styletrainings",
      body: {
        ...minimalStyleTraining("mosaic"),
        spec: {
          ...minimalStyleTraining("mosaic").spec,
          workers: 1,
          resources: { gpu: 0, cpu: "1", memory: "1Gi" },
        },
      },
    });
    const status = async () =>
      (
        (await custom.getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: watchedNs,
          plural: "styleservers",
          name: "api",
        })) as { status?: { readyReplicas?: number } }
      ).status;
    await waitFor(
      "the StyleServer's 2 replicas ready",
      async () => (await status())?.readyReplicas === 2,
      90_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\ncontroller log:\n${controller?.logs().slice(-4000)}`);
    });
    const policy = kc.makeApiClient(k8s.PolicyV1Api);
    await assert.doesNotReject(
      policy.readNamespacedPodDisruptionBudget({ name: "api-server", namespace: watchedNs }),
    );
    const core = kc.makeApiClient(k8s.CoreV1Api);
    await waitFor("the training's worker pod", async () => {
      const pods = await core.listNamespacedPod({
        namespace: watchedNs,
        labelSelector: "stylekube.io/training=mosaic",
      });
      return pods.items.length === 1;
    });
    const lease = await kc
      .makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ name: operatorName, namespace: releaseNs });
    assert.equal(lease.spec?.holderIdentity, `${operatorName}-0`);
    assert.doesNotMatch(controller.logs(), /forbidden/i, "no request was refused");
  });
});
