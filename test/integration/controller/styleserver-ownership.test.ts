// Names a StyleServer needs that are already taken, on the real apiserver
// (with its garbage collector, in kube-controller-manager): an object the
// operator did not create is never written, adopted or deleted. The
// controller runs as its own process with its own RBAC. Servers here ask for
// 0 replicas: no pod runs and none is asked for its engine.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION, type StyleServerStatus } from "../../../common/api/index.js";
import { readTestEnv } from "../../env/env-file.js";
import type { ControllerProcess } from "../../support/controller-process.js";
import { waitFor } from "../../support/kubernetes.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";

const FIELD_MANAGER = "stylekube-controller";

describe("StyleServer: names taken by objects it does not own", () => {
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let apps: k8s.AppsV1Api;
  let core: k8s.CoreV1Api;
  let hpas: k8s.AutoscalingV2Api;
  let ns: string;
  let operator: OperatorUnderTest;
  let controller: ControllerProcess;

  before(async () => {
    operator = await setUpOperator("ownership", (namespace) => ({
      // Never used with 0 replicas; loopback, should that change.
      STYLEKUBE_SERVER_METADATA_URL: "http://127.0.0.1:9/v2",
      STYLEKUBE_NATS_URL: readTestEnv().natsUrl,
      STYLEKUBE_WATCH_NAMESPACE: namespace,
      STYLEKUBE_LEADER_ELECT: "false",
    }));
    ({ kc, namespace: ns, controller } = operator);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    apps = kc.makeApiClient(k8s.AppsV1Api);
    core = kc.makeApiClient(k8s.CoreV1Api);
    hpas = kc.makeApiClient(k8s.AutoscalingV2Api);
  });

  after(async () => {
    await operator?.cleanup();
  });

  const servers = { group: GROUP, version: VERSION, plural: "styleservers" };
  type Server = { metadata: k8s.V1ObjectMeta; status?: StyleServerStatus };
  const getServer = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...servers, namespace: ns, name })) as Server;
  const createServer = async (name: string) =>
    (await custom.createNamespacedCustomObject({
      ...servers,
      namespace: ns,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: "StyleServer",
        metadata: { name },
        spec: { replicas: 0, styles: { mosaic: { modelURI: "s3://models/mosaic/model/" } } },
      },
    })) as Server;
  const patchSpec = (name: string, spec: object) =>
    custom.patchNamespacedCustomObject(
      { ...servers, namespace: ns, name, body: { spec } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  const waitServer = async (name: string, what: string, check: (s: Server) => boolean) => {
    let last: Server | undefined;
    try {
      await waitFor(`${name}: ${what}`, async () => check((last = await getServer(name))), 30_000);
    } catch (err) {
      throw new Error(
        `${String(err)}\nlast status: ${JSON.stringify(last?.status)}\ncontroller log:\n${controller.logs().slice(-3000)}`,
        { cause: err },
      );
    }
    return last!;
  };
  const owned = (s: Server) => s.status?.conditions?.find((c) => c.type === "ResourcesOwned");
  /**
   * Passes over one server never overlap, and each records its status before
   * it acts: once a pass decided from a newer generation has written it, the
   * pass before it has finished acting.
   */
  let added = 0;
  const afterTheNextPass = async (name: string) => {
    const style = `added${++added}`; // a new style each time: a new generation
    await patchSpec(name, { styles: { [style]: { modelURI: `s3://models/${style}/model/` } } });
    const generation = (await getServer(name)).metadata.generation!;
    await waitServer(
      name,
      `observedGeneration ${generation}`,
      (s) => s.status?.observedGeneration === generation,
    );
  };
  /** Nothing of the operator's on an object: no owner reference, no field it manages. */
  const untouched = (meta: k8s.V1ObjectMeta | undefined) => {
    assert.deepEqual(meta?.ownerReferences ?? [], []);
    assert.deepEqual(
      (meta?.managedFields ?? []).filter((f) => f.manager === FIELD_MANAGER),
      [],
      "the operator manages no field of it",
    );
  };

  it("leaves a Service it did not create alone, says so, and does not delete it with the StyleServer", async () => {
    const service = await core.createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: "api-server", labels: { team: "web" } },
        spec: { selector: { app: "web-api" }, ports: [{ name: "web", port: 8000, targetPort: 8000 }] },
      },
    });
    const server = await createServer("api");

    const s = await waitServer("api", "ResourcesOwned False", (s) => owned(s)?.status === "False");
    assert.equal(owned(s)?.reason, "ResourceNotOwned");
    assert.match(
      owned(s)!.message,
      /^Service api-server already exists and is not controlled by this StyleServer/,
    );
    assert.match(owned(s)!.message, /rename the StyleServer, or delete or rename the Service/);
    let warnings: k8s.CoreV1Event[] = [];
    await waitFor("Warning ResourceExists", async () => {
      warnings = (
        await core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: `involvedObject.name=api,involvedObject.kind=StyleServer,reason=ResourceExists`,
        })
      ).items;
      return warnings.length > 0;
    });
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]!.type, "Warning");
    assert.equal(warnings[0]!.involvedObject.uid, server.metadata.uid);
    assert.match(warnings[0]!.message ?? "", /Service api-server/);

    // The free name is used as before: the Deployment is created and owned.
    await afterTheNextPass("api");
    const [warning] = (
      await core.listNamespacedEvent({
        namespace: ns,
        fieldSelector: `involvedObject.uid=${server.metadata.uid}`,
      })
    ).items.filter((e) => e.reason === "ResourceExists");
    assert.equal(warning?.count, 1, "announced once, not on every pass");
    const deployment = await apps.readNamespacedDeployment({ name: "api-server", namespace: ns });
    assert.equal(
      deployment.metadata!.ownerReferences?.find((o) => o.controller)?.uid,
      server.metadata.uid,
      "the Deployment is the StyleServer's",
    );
    const now = await core.readNamespacedService({ name: "api-server", namespace: ns });
    assert.equal(
      now.metadata!.resourceVersion,
      service.metadata!.resourceVersion,
      "the Service was not written",
    );
    assert.deepEqual(now.spec!.selector, { app: "web-api" });
    untouched(now.metadata);

    await custom.deleteNamespacedCustomObject({ ...servers, namespace: ns, name: "api" });
    // The garbage collector removes what the StyleServer owned ...
    await waitFor("the StyleServer's Deployment garbage-collected", async () => {
      const gone = await apps
        .readNamespacedDeployment({ name: "api-server", namespace: ns })
        .then(() => false)
        .catch((err: unknown) => err instanceof k8s.ApiException && err.code === 404);
      return gone;
    });
    // ... and nothing else.
    const kept = await core.readNamespacedService({ name: "api-server", namespace: ns });
    assert.equal(kept.metadata!.uid, service.metadata!.uid);
    assert.equal(kept.metadata!.resourceVersion, service.metadata!.resourceVersion);
  });

  it("does not delete an HPA it did not create when the StyleServer has no autoscaling, nor take it over with autoscaling", async () => {
    const hpa = await hpas.createNamespacedHorizontalPodAutoscaler({
      namespace: ns,
      body: {
        metadata: { name: "x-server" },
        spec: {
          scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "x-elsewhere" },
          minReplicas: 1,
          maxReplicas: 2,
        },
      },
    });
    await createServer("x");
    await waitFor("x's Service", async () =>
      core
        .readNamespacedService({ name: "x-server", namespace: ns })
        .then(() => true)
        .catch(() => false),
    );
    await afterTheNextPass("x");
    const s = await getServer("x");
    assert.equal(owned(s)?.status, "True", "an HPA name is not needed without autoscaling");
    let now = await hpas.readNamespacedHorizontalPodAutoscaler({ name: "x-server", namespace: ns });
    assert.equal(now.metadata!.uid, hpa.metadata!.uid, "the HPA was not deleted");
    untouched(now.metadata);

    // With autoscaling the name is needed, and taken: reported, not adopted.
    await patchSpec("x", {
      autoscaling: { minReplicas: 1, maxReplicas: 5, targetCPUUtilizationPercentage: 60 },
    });
    const taken = await waitServer("x", "ResourcesOwned False", (s) => owned(s)?.status === "False");
    assert.match(owned(taken)!.message, /^HorizontalPodAutoscaler x-server already exists/);
    await afterTheNextPass("x");
    now = await hpas.readNamespacedHorizontalPodAutoscaler({ name: "x-server", namespace: ns });
    assert.equal(now.metadata!.uid, hpa.metadata!.uid);
    assert.equal(now.spec!.maxReplicas, 2, "the spec is the user's");
    assert.equal(now.spec!.scaleTargetRef.name, "x-elsewhere");
    untouched(now.metadata);
  });
});
