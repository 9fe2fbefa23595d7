// The model server's Deployment as buildDeployment writes it: spec.template's
// placement merged in, a soft spread over nodes by default, the pod identity
// the operator is configured with, ephemeral storage and a capped /tmp.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { API_VERSION, validateStyleServer, type StyleServerInput } from "../../../common/api/index.js";
import { readControllerConfig } from "../../../controller/config.js";
import { buildDeployment, buildDisruptionBudget } from "../../../controller/serving/server-resources.js";

const config = readControllerConfig({});

function deploymentOf(spec: Partial<StyleServerInput["spec"]> = {}, c = config) {
  const v = validateStyleServer({
    apiVersion: API_VERSION,
    kind: "StyleServer",
    metadata: { name: "api", namespace: "ns", uid: "uid-api" },
    spec: { styles: { mosaic: { modelURI: "s3://models/mosaic/model/" } }, ...spec },
  });
  assert.ok(v.ok, v.ok ? "" : v.message);
  return buildDeployment(v.value, c);
}

describe("model-server Deployment", () => {
  it("spreads replicas over nodes where it can, by default", () => {
    const pod = deploymentOf().spec!.template.spec!;
    assert.deepEqual(pod.topologySpreadConstraints, [
      {
        maxSkew: 1,
        topologyKey: "kubernetes.io/hostname",
        whenUnsatisfiable: "ScheduleAnyway",
        labelSelector: {
          matchLabels: {
            "app.kubernetes.io/name": "stylekube",
            "app.kubernetes.io/component": "server",
            "app.kubernetes.io/managed-by": "stylekube",
            "stylekube.io/server": "api",
          },
        },
      },
    ]);
    assert.equal(pod.nodeSelector, undefined);
  });

  it("merges spec.template: labels, annotations and placement; the operator's labels win", () => {
    const zoneSpread = {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "DoNotSchedule",
      labelSelector: { matchLabels: { "stylekube.io/server": "api" } },
    };
    const d = deploymentOf({
      template: {
        metadata: { labels: { team: "vision" }, annotations: { "example.com/owner": "vision" } },
        spec: {
          nodeSelector: { pool: "inference" },
          tolerations: [{ key: "inference", operator: "Exists", effect: "NoSchedule" }],
          affinity: { nodeAffinity: {} },
          priorityClassName: "serving",
          topologySpreadConstraints: [zoneSpread],
        },
      },
    });
    const t = d.spec!.template;
    assert.equal(t.metadata!.labels!.team, "vision");
    assert.equal(t.metadata!.labels!["stylekube.io/server"], "api");
    assert.equal(t.metadata!.annotations!["example.com/owner"], "vision");
    assert.equal(t.metadata!.annotations!["prometheus.io/scrape"], "true");
    assert.deepEqual(d.spec!.selector.matchLabels, {
      "app.kubernetes.io/name": "stylekube",
      "app.kubernetes.io/component": "server",
      "app.kubernetes.io/managed-by": "stylekube",
      "stylekube.io/server": "api",
    });
    assert.deepEqual(t.spec!.nodeSelector, { pool: "inference" });
    assert.deepEqual(t.spec!.tolerations, [{ key: "inference", operator: "Exists", effect: "NoSchedule" }]);
    assert.deepEqual(t.spec!.affinity, { nodeAffinity: {} });
    assert.equal(t.spec!.priorityClassName, "serving");
    assert.deepEqual(t.spec!.topologySpreadConstraints, [zoneSpread]);
  });

  it("refuses template labels the operator selects by, naming the field", () => {
    const v = validateStyleServer({
      apiVersion: API_VERSION,
      kind: "StyleServer",
      metadata: { name: "api", namespace: "ns" },
      spec: { template: { metadata: { labels: { "stylekube.io/server": "other" } } } },
    });
    assert.equal(v.ok, false);
    assert.match(v.ok ? "" : v.message, /spec\.template\.metadata\.labels/);
  });

  it("runs as the configured identity with ephemeral storage requested, limited, and /tmp capped", () => {
    const pod = deploymentOf({ resources: { ephemeralStorage: "3Gi" } }).spec!.template.spec!;
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const c = pod.containers[0]!;
    assert.equal(c.resources!.requests!["ephemeral-storage"], "3Gi");
    assert.equal(c.resources!.limits!["ephemeral-storage"], "3Gi");
    assert.deepEqual(pod.volumes, [{ name: "tmp", emptyDir: { sizeLimit: "3Gi" } }]);
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    const user = readControllerConfig({ STYLEKUBE_RUN_AS_USER: "", STYLEKUBE_FS_GROUP: "" });
    assert.deepEqual(deploymentOf({}, user).spec!.template.spec!.securityContext, {
      runAsNonRoot: true,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
  });
});

describe("model-server PodDisruptionBudget", () => {
  it("lets drains take one server pod at a time, selects exactly the server's pods, is owned by it", () => {
    const v = validateStyleServer({
      apiVersion: API_VERSION,
      kind: "StyleServer",
      metadata: { name: "api", namespace: "ns", uid: "uid-api" },
      spec: { replicas: 3 },
    });
    assert.ok(v.ok);
    const pdb = buildDisruptionBudget(v.value);
    const deployment = buildDeployment(v.value, config);
    assert.equal(pdb.metadata!.name, deployment.metadata!.name);
    assert.equal(pdb.spec!.maxUnavailable, 1);
    assert.deepEqual(pdb.spec!.selector, deployment.spec!.selector);
    assert.equal(pdb.spec!.unhealthyPodEvictionPolicy, "AlwaysAllow");
    assert.deepEqual(pdb.metadata!.ownerReferences, deployment.metadata!.ownerReferences);
  });
});
