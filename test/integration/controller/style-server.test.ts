// StyleServer reconciliation on the real apiserver: Deployment, Service and
// HPA shapes, `kubectl scale` through the scale subresource, status from the
// Deployment (kwok makes the pods ready), the engine the replicas chose
// (read from a real model server's GET /v2: kwok's pods run nothing, so the
// operator's metadata URL points every pod at one server process started
// here), and auto-deploy of a finished StyleTraining. The controller runs as
// its own process with its own RBAC.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import {
  engineLabel,
  GROUP,
  ServerMetadataSchema,
  VERSION,
  type StyleServerStatus,
  type StyleTrainingStatus,
} from "../../../common/api/index.js";
import { readTestEnv } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import { startServerProcess, type ServerProcess } from "../serving/support.js";
import type { ControllerProcess } from "../../support/controller-process.js";
import { waitFor } from "../../support/kubernetes.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";

const run = promisify(execFile);

describe("StyleServer controller", () => {
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;
  let hpas: k8s.AutoscalingV2Api;
  let ns: string;
  let operator: OperatorUnderTest;
  let controller: ControllerProcess;
  let modelServer: ServerProcess;

  before(async () => {
    // A real model server choosing its engine (auto), no styles: ready at once.
    modelServer = await startServerProcess({ STYLEKUBE_ENGINE: "auto", STYLEKUBE_LOG_LEVEL: "warn" });
    operator = await setUpOperator("serving", (namespace) => ({
      STYLEKUBE_SERVER_METADATA_URL: `${modelServer.url}/v2`,
      STYLEKUBE_NATS_URL: readTestEnv().natsUrl,
      STYLEKUBE_WATCH_NAMESPACE: namespace,
      STYLEKUBE_LEADER_ELECT: "false",
      STYLEKUBE_STATUS_INTERVAL_MS: "200",
    }));
    ({ kc, namespace: ns, controller } = operator);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    hpas = kc.makeApiClient(k8s.AutoscalingV2Api);
  });

  after(async () => {
    await operator?.cleanup();
    await modelServer?.stop();
  });

  const servers = { group: GROUP, version: VERSION, plural: "styleservers" };
  const getServer = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...servers, namespace: ns, name })) as {
      spec: { replicas: number; styles: Record<string, { modelURI: string; trainedBy?: string }> };
      status?: StyleServerStatus;
    };
  const waitServer = async (name: string, what: string, check: (s: StyleServerStatus) => boolean) => {
    let last: StyleServerStatus | undefined;
    try {
      await waitFor(
        `${name}: ${what}`,
        async () => check((last = (await getServer(name)).status ?? {})),
        30_000,
      );
    } catch (err) {
      throw new Error(
        `${String(err)}\nlast status: ${JSON.stringify(last)}\ncontroller log:\n${controller.logs().slice(-3000)}`,
        { cause: err },
      );
    }
    return last!;
  };
  const kubectl = (...args: string[]) =>
    run(join(readTestEnv().binDir ?? "", "kubectl"), [
      "--kubeconfig",
      readTestEnv().kubeconfig,
      "-n",
      ns,
      ...args,
    ]);

  it("becomes a Deployment with health probes, a Service and a PodDisruptionBudget, and reports ready replicas and styles", async () => {
    await custom.createNamespacedCustomObject({
      ...servers,
      namespace: ns,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "StyleServer",
        metadata: { name: "default" },
        spec: { replicas: 2, styles: { mosaic: { modelURI: "s3://models/mosaic/model/" } } },
      },
    });
    await waitFor(
      "deployment",
      async () => !!(await apps.readNamespacedDeployment({ name: "default-server", namespace: ns })),
    );
    const d = await apps.readNamespacedDeployment({ name: "default-server", namespace: ns });
    const c = d.spec!.template.spec!.containers[0]!;
    assert.equal(d.spec!.replicas, 2);
    assert.equal(c.readinessProbe?.httpGet?.path, "/v2/health/ready");
    assert.equal(c.livenessProbe?.httpGet?.path, "/v2/health/live");
    assert.deepEqual(JSON.parse(c.env!.find((e) => e.name === "STYLEKUBE_STYLES")!.value!), {
      mosaic: "s3://models/mosaic/model/",
    });
    assert.equal(d.spec!.template.metadata!.annotations!["prometheus.io/scrape"], "true");
    assert.equal(d.spec!.strategy!.rollingUpdate!.maxUnavailable, 0);
    const svc = await core.readNamespacedService({ name: "default-server", namespace: ns });
    assert.deepEqual(svc.spec!.selector, d.spec!.selector!.matchLabels);
    // Drains take one server pod at a time; the topology spread keeps replicas on different nodes where it can.
    const pdb = await waitFor("the PodDisruptionBudget", async () =>
      Boolean(
        await kc
          .makeApiClient(k8s.PolicyV1Api)
          .readNamespacedPodDisruptionBudget({ name: "default-server", namespace: ns }),
      ),
    ).then(() =>
      kc
        .makeApiClient(k8s.PolicyV1Api)
        .readNamespacedPodDisruptionBudget({ name: "default-server", namespace: ns }),
    );
    assert.equal(pdb.spec!.maxUnavailable, 1);
    assert.deepEqual(pdb.spec!.selector!.matchLabels, d.spec!.selector!.matchLabels);
    assert.equal(pdb.metadata!.ownerReferences![0]!.kind, "StyleServer");
    assert.equal(d.spec!.template.spec!.topologySpreadConstraints![0]!.topologyKey, "kubernetes.io/hostname");
    const s = await waitServer(
      "default",
      "2 ready with mosaic loaded",
      (s) => s.readyReplicas === 2 && (s.loadedStyles ?? []).includes("mosaic"),
    );
    assert.equal(s.replicas, 2);
    assert.match(s.selector ?? "", /stylekube.io\/server=default/);
  });

  it("reports the engine the ready replicas chose in status.engine and kubectl's ENGINE column", async () => {
    const metadata = ServerMetadataSchema.parse(await (await fetch(`${modelServer.url}/v2`)).json());
    assert.notEqual(metadata.engine.engine, "auto");
    // Without a GPU, auto starts ONNX Runtime on the CPU (the fastest CPU engine).
    if (metadata.engine.engine === "onnxruntime") assert.equal(metadata.engine.provider, "cpu");
    const want = engineLabel(metadata.engine);
    const s = await waitServer("default", `engine ${want}`, (s) => s.engine === want);
    assert.equal(s.readyReplicas, 2);
    const { stdout } = await kubectl("get", "styleserver/default");
    const [header, row] = stdout.trim().split("\n");
    const column = header!.split(/\s+/).indexOf("ENGINE");
    assert.ok(column > 0, header);
    assert.equal(row!.split(/\s+/)[column], want);
  });

  it("kubectl scale changes the Deployment through the scale subresource", async () => {
    await kubectl("scale", "styleserver/default", "--replicas=3");
    assert.equal((await getServer("default")).spec.replicas, 3);
    await waitFor(
      "deployment scaled",
      async () =>
        (await apps.readNamespacedDeployment({ name: "default-server", namespace: ns })).spec!.replicas === 3,
    );
    await waitServer("default", "3 ready", (s) => s.readyReplicas === 3);
    const { stdout } = await kubectl("get", "styleserver/default", "-o", "jsonpath={.status.replicas}");
    assert.equal(stdout.trim(), "3");
  });

  it("creates an HPA targeting the StyleServer, and removes it when autoscaling is dropped", async () => {
    const patch = (spec: object) =>
      custom.patchNamespacedCustomObject(
        { ...servers, namespace: ns, name: "default", body: { spec } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    await patch({ autoscaling: { minReplicas: 2, maxReplicas: 6, targetCPUUtilizationPercentage: 70 } });
    await waitFor(
      "hpa",
      async () =>
        !!(await hpas.readNamespacedHorizontalPodAutoscaler({ name: "default-server", namespace: ns })),
    );
    const hpa = await hpas.readNamespacedHorizontalPodAutoscaler({ name: "default-server", namespace: ns });
    assert.deepEqual(
      { ...hpa.spec!.scaleTargetRef },
      {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "StyleServer",
        name: "default",
      },
    );
    assert.equal(hpa.spec!.maxReplicas, 6);
    assert.equal(hpa.spec!.metrics![0]!.resource!.target.averageUtilization, 70);
    await patch({ autoscaling: null });
    await waitFor("hpa deleted", async () => {
      try {
        await hpas.readNamespacedHorizontalPodAutoscaler({ name: "default-server", namespace: ns });
        return false;
      } catch (err) {
        return err instanceof k8s.ApiException && err.code === 404;
      }
    });
  });

  it("auto-deploys a succeeded StyleTraining to the named server", async () => {
    const body = minimalStyleTraining("starry");
    body.spec = {
      ...body.spec,
      output: "s3://models/starry/",
      workers: 1,
      resources: { gpu: 0, cpu: "1", memory: "1Gi" },
      serving: { server: "default" },
    };
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: "styletrainings",
      namespace: ns,
      body,
    });
    let pod: k8s.V1Pod | undefined;
    await waitFor("worker pod", async () => {
      pod = (await core.listNamespacedPod({ namespace: ns, labelSelector: "stylekube.io/training=starry" }))
        .items[0];
      return pod !== undefined;
    });
    await core.patchNamespacedPodStatus(
      { name: pod!.metadata!.name!, namespace: ns, body: { status: { phase: "Succeeded" } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await waitFor("Deployed condition", async () => {
      const t = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: "styletrainings",
        namespace: ns,
        name: "starry",
      })) as { status?: StyleTrainingStatus };
      return (
        t.status?.conditions?.some(
          (c) =>
            c.type === "Deployed" && c.status === "True" && /starry on StyleServer default/.test(c.message),
        ) ?? false
      );
    });
    const server = await getServer("default");
    assert.deepEqual(server.spec.styles.starry, {
      modelURI: "s3://models/starry/model/",
      trainedBy: "starry",
    });
    assert.ok(server.spec.styles.mosaic, "existing styles are kept");
    await waitServer("default", "starry loaded after the rollout", (s) =>
      (s.loadedStyles ?? []).includes("starry"),
    );
  });
});
