// The StyleServer policies as tables: spec, status, what holds each object
// name, the Deployment and the clock in; status, events and actions out. No
// server: the policies are pure.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as k8s from "@kubernetes/client-node";
import {
  API_VERSION,
  validateStyleServer,
  type StyleServerInput,
  type StyleServerStatus,
} from "../../../common/api/index.js";
import { readControllerConfig } from "../../../controller/config.js";
import { occupantOf, type Occupant } from "../../../controller/serving/ownership.js";
import { decideServer } from "../../../controller/serving/policies/decide.js";
import type { ServerDecision, ServerObjectKind } from "../../../controller/serving/policies/decision.js";
import { NOT_OWNED_RETRY_MS } from "../../../controller/serving/policies/ownership.js";
import { buildDeployment } from "../../../controller/serving/server-resources.js";

const T0 = new Date("2026-03-01T12:00:00Z");
const UID = "uid-api";
const config = readControllerConfig({});

function server(spec: Partial<StyleServerInput["spec"]> = {}): StyleServerInput {
  return {
    apiVersion: API_VERSION,
    kind: "StyleServer",
    metadata: { name: "api", namespace: "ns", uid: UID, generation: 2 },
    spec: { replicas: 2, styles: { mosaic: { modelURI: "s3://models/mosaic/model/" } }, ...spec },
  };
}

/** An object under a server name, with the given controller (none: made by hand). */
function existing(uid: string, controller?: { kind: string; name: string; uid: string }): Occupant {
  const ownerReferences = controller
    ? [{ apiVersion: "x/v1", ...controller, controller: true, blockOwnerDeletion: true }]
    : [];
  return occupantOf({ metadata: { name: "api-server", uid, ownerReferences } }, UID)!;
}
const ours = (uid: string) => existing(uid, { kind: "StyleServer", name: "api", uid: UID });
const byHand = (uid: string) => existing(uid);

/** The server's own Deployment with this status; `styles` overrides the template's style set. */
function deployment(status: k8s.V1DeploymentStatus, styles?: StyleServerInput["spec"]["styles"]) {
  const v = validateStyleServer(server(styles ? { styles } : {}));
  assert.ok(v.ok);
  const d = buildDeployment(v.value, config);
  d.metadata!.generation = 3;
  d.status = { observedGeneration: 3, ...status };
  return d;
}
const rolledOut = { replicas: 2, readyReplicas: 2, updatedReplicas: 2 };

interface Case {
  name: string;
  spec?: Partial<StyleServerInput["spec"]>;
  status?: StyleServerStatus;
  occupants?: Partial<Record<ServerObjectKind, Occupant>>;
  deployment?: k8s.V1Deployment;
  engine?: string;
  expect: (d: ServerDecision) => void;
}

function decide(c: Omit<Case, "name" | "expect">): ServerDecision {
  return decideServer(
    {
      status: c.status ?? {},
      generation: 2,
      now: T0,
      occupants: c.occupants ?? {},
      ...(c.deployment ? { deployment: c.deployment } : {}),
      ...(c.engine ? { engine: c.engine } : {}),
    },
    validateStyleServer(server(c.spec)),
    config,
  );
}

const applied = (d: ServerDecision) => d.actions.flatMap((a) => (a.kind === "apply" ? [a.object.kind] : []));
const deletes = (d: ServerDecision) => d.actions.filter((a) => a.kind === "deleteAutoscaler");
const condition = (d: ServerDecision, type: string) => d.status.conditions?.find((c) => c.type === type);
const reasons = (d: ServerDecision) => d.events.map((e) => e.reason);
const autoscaling = { minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 70 };

const CASES: Case[] = [
  {
    name: "a new server: Deployment, Service and PodDisruptionBudget applied, owned, not yet available",
    expect: (d) => {
      assert.deepEqual(applied(d), ["Deployment", "Service", "PodDisruptionBudget"]);
      assert.deepEqual(deletes(d), []);
      assert.deepEqual(d.events, []);
      assert.equal(condition(d, "ResourcesOwned")?.status, "True");
      assert.equal(condition(d, "ResourcesOwned")?.reason, "AllResourcesOwned");
      assert.equal(condition(d, "Available")?.reason, "NoReplicasReady");
      assert.equal(condition(d, "Available")?.message, "0 of 2 replicas ready");
      assert.equal(condition(d, "Progressing")?.reason, "RollingOut");
      assert.equal(d.status.observedGeneration, 2);
      assert.equal(d.status.replicas, 0);
      assert.match(d.status.selector ?? "", /stylekube.io\/server=api/);
      assert.equal(d.requeueAfterMs, undefined);
    },
  },
  {
    name: "its own objects, rolled out: all styles loaded, the engine reported, Available and RolledOut",
    occupants: { Deployment: ours("d1"), Service: ours("s1") },
    deployment: deployment(rolledOut),
    engine: "onnxruntime/cpu",
    expect: (d) => {
      assert.deepEqual(applied(d), ["Deployment", "Service", "PodDisruptionBudget"]);
      assert.deepEqual(d.status.loadedStyles, ["mosaic"]);
      assert.equal(d.status.engine, "onnxruntime/cpu");
      assert.equal(d.status.readyReplicas, 2);
      assert.equal(condition(d, "Available")?.message, "2 of 2 replicas ready");
      assert.equal(condition(d, "Progressing")?.reason, "RolledOut");
    },
  },
  {
    name: "a template with the old style set is not rolled out: loadedStyles stays as last written",
    status: { loadedStyles: ["candy"] },
    occupants: { Deployment: ours("d1"), Service: ours("s1") },
    deployment: deployment(rolledOut, { candy: { modelURI: "s3://models/candy/model/" } }),
    expect: (d) => {
      assert.deepEqual(d.status.loadedStyles, ["candy"]);
      assert.equal(condition(d, "Progressing")?.reason, "RollingOut");
      assert.equal(condition(d, "Available")?.status, "True");
    },
  },
  {
    name: "no replica ready: the engine is cleared",
    status: { engine: "wasm" },
    occupants: { Deployment: ours("d1") },
    deployment: deployment({ replicas: 2, readyReplicas: 0, updatedReplicas: 2 }),
    expect: (d) => {
      assert.equal(d.status.engine, undefined);
      assert.equal(condition(d, "Available")?.status, "False");
    },
  },
  {
    name: "zero replicas asked for is available",
    spec: { replicas: 0 },
    expect: (d) => assert.equal(condition(d, "Available")?.status, "True"),
  },
  {
    name: "a Service of the name made by hand: left alone, a Warning naming it and the fix, ResourcesOwned False, looked at again",
    occupants: { Service: byHand("s-hand") },
    expect: (d) => {
      assert.deepEqual(applied(d), ["Deployment", "PodDisruptionBudget"]);
      assert.deepEqual(reasons(d), ["ResourceExists"]);
      assert.equal(d.events[0]!.type, "Warning");
      assert.match(
        d.events[0]!.message,
        /^Service api-server already exists and is not controlled by this StyleServer/,
      );
      assert.match(d.events[0]!.message, /it has no controller/);
      assert.match(d.events[0]!.message, /rename the StyleServer, or delete or rename the Service/);
      const owned = condition(d, "ResourcesOwned");
      assert.equal(owned?.status, "False");
      assert.equal(owned?.reason, "ResourceNotOwned");
      assert.equal(owned?.message, d.events[0]!.message);
      assert.equal(d.requeueAfterMs, NOT_OWNED_RETRY_MS);
    },
  },
  {
    name: "a name still taken: announced once, the condition keeps its transition time",
    status: {
      conditions: [
        {
          type: "ResourcesOwned",
          status: "False",
          reason: "ResourceNotOwned",
          message: decide({ occupants: { Service: byHand("s-hand") } }).events[0]!.message,
          lastTransitionTime: "2026-02-01T00:00:00.000Z",
        },
      ],
    },
    occupants: { Service: byHand("s-hand") },
    expect: (d) => {
      assert.deepEqual(d.events, []);
      assert.equal(condition(d, "ResourcesOwned")?.lastTransitionTime, "2026-02-01T00:00:00.000Z");
      assert.deepEqual(applied(d), ["Deployment", "PodDisruptionBudget"]);
    },
  },
  {
    name: "a second name taken later: only the new one is announced, the condition names both",
    status: {
      conditions: [
        {
          type: "ResourcesOwned",
          status: "False",
          reason: "ResourceNotOwned",
          message: decide({ occupants: { Service: byHand("s-hand") } }).events[0]!.message,
          lastTransitionTime: "2026-02-01T00:00:00.000Z",
        },
      ],
    },
    occupants: {
      Service: byHand("s-hand"),
      Deployment: existing("d-other", { kind: "Rollout", name: "api", uid: "r1" }),
    },
    expect: (d) => {
      assert.deepEqual(applied(d), ["PodDisruptionBudget"]);
      assert.equal(d.events.length, 1);
      assert.match(d.events[0]!.message, /^Deployment api-server .*\(its controller is Rollout api\)/);
      assert.match(condition(d, "ResourcesOwned")!.message, /^Deployment api-server.* Service api-server/);
    },
  },
  {
    name: "a Deployment of the name that is not its own says nothing about the server: 0 replicas, not available",
    status: { loadedStyles: ["mosaic"], engine: "wasm", replicas: 2, readyReplicas: 2 },
    occupants: { Deployment: byHand("d-hand") },
    expect: (d) => {
      assert.deepEqual(applied(d), ["Service", "PodDisruptionBudget"]);
      assert.equal(d.status.replicas, 0);
      assert.equal(d.status.readyReplicas, 0);
      assert.equal(d.status.loadedStyles, undefined);
      assert.equal(d.status.engine, undefined);
      for (const type of ["Available", "Progressing"]) {
        assert.equal(condition(d, type)?.status, "False", type);
        assert.equal(condition(d, type)?.reason, "ResourceNotOwned", type);
        assert.match(condition(d, type)!.message, /Deployment api-server/, type);
      }
    },
  },
  {
    name: "a Deployment an earlier StyleServer of the name still owns: said so (the garbage collector removes it)",
    occupants: { Deployment: existing("d-old", { kind: "StyleServer", name: "api", uid: "uid-old" }) },
    expect: (d) => {
      assert.deepEqual(applied(d), ["Service", "PodDisruptionBudget"]);
      assert.match(d.events[0]!.message, /earlier StyleServer api \(uid uid-old\)/);
      assert.match(d.events[0]!.message, /garbage collector/);
    },
  },
  {
    name: "names taken no more: ResourcesOwned back to True, without an event",
    status: {
      conditions: [
        {
          type: "ResourcesOwned",
          status: "False",
          reason: "ResourceNotOwned",
          message: "Service api-server already exists …",
          lastTransitionTime: "2026-02-01T00:00:00.000Z",
        },
      ],
    },
    expect: (d) => {
      assert.equal(condition(d, "ResourcesOwned")?.status, "True");
      assert.equal(condition(d, "ResourcesOwned")?.lastTransitionTime, T0.toISOString());
      assert.deepEqual(d.events, []);
      assert.equal(d.requeueAfterMs, undefined);
    },
  },
  {
    name: "a PodDisruptionBudget of the name made by hand: left alone, announced, the rest applied",
    occupants: { PodDisruptionBudget: byHand("p-hand") },
    expect: (d) => {
      assert.deepEqual(applied(d), ["Deployment", "Service"]);
      assert.match(d.events[0]!.message, /^PodDisruptionBudget api-server already exists/);
      assert.equal(condition(d, "ResourcesOwned")?.status, "False");
    },
  },
  // The HPA
  {
    name: "autoscaling: the HPA is applied when its name is free",
    spec: { autoscaling },
    expect: (d) =>
      assert.deepEqual(applied(d), [
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
      ]),
  },
  {
    name: "autoscaling with an HPA of the name that is not its own: not applied, announced",
    spec: { autoscaling },
    occupants: { HorizontalPodAutoscaler: byHand("h-hand") },
    expect: (d) => {
      assert.deepEqual(applied(d), ["Deployment", "Service", "PodDisruptionBudget"]);
      assert.match(d.events[0]!.message, /^HorizontalPodAutoscaler api-server already exists/);
      assert.equal(condition(d, "ResourcesOwned")?.status, "False");
    },
  },
  {
    name: "autoscaling dropped: its own HPA is deleted, by uid",
    occupants: { HorizontalPodAutoscaler: ours("h1") },
    expect: (d) => {
      assert.deepEqual(deletes(d), [{ kind: "deleteAutoscaler", name: "api-server", uid: "h1" }]);
      assert.equal(condition(d, "ResourcesOwned")?.status, "True");
    },
  },
  {
    name: "no autoscaling and an HPA of the name that is not its own: kept, and no conflict (the name is not needed)",
    occupants: { HorizontalPodAutoscaler: byHand("h-hand") },
    expect: (d) => {
      assert.deepEqual(deletes(d), []);
      assert.deepEqual(d.events, []);
      assert.equal(condition(d, "ResourcesOwned")?.status, "True");
    },
  },
  {
    name: "no autoscaling and an HPA an earlier StyleServer of the name owns: kept (not this server's)",
    occupants: {
      HorizontalPodAutoscaler: existing("h-old", { kind: "StyleServer", name: "api", uid: "uid-old" }),
    },
    expect: (d) => assert.deepEqual(deletes(d), []),
  },
];

describe("StyleServer policies", () => {
  for (const c of CASES) it(c.name, () => c.expect(decide(c)));

  it("an invalid spec: Available False with the message, announced once, nothing applied or deleted", () => {
    const invalid = server({ replicas: -1 });
    const observed = { generation: 2, now: T0, occupants: { HorizontalPodAutoscaler: ours("h1") } };
    const first = decideServer({ ...observed, status: {} }, validateStyleServer(invalid), config);
    assert.deepEqual(first.actions, []);
    assert.deepEqual(reasons(first), ["InvalidSpec"]);
    assert.match(first.events[0]!.message, /spec\.replicas/);
    assert.equal(condition(first, "Available")?.reason, "InvalidSpec");
    assert.equal(first.status.observedGeneration, 2);
    const again = decideServer({ ...observed, status: first.status }, validateStyleServer(invalid), config);
    assert.deepEqual(again.events, []);
    assert.deepEqual(again.status, first.status);
  });
});

describe("occupantOf", () => {
  it("absent is undefined", () => assert.equal(occupantOf(undefined, UID), undefined));

  it("only a controller reference with the server's uid makes an object its own", () => {
    const meta = (ownerReferences: k8s.V1OwnerReference[]) => ({ metadata: { uid: "o", ownerReferences } });
    const ref = (uid: string, controller: boolean) => ({
      apiVersion: API_VERSION,
      kind: "StyleServer",
      name: "api",
      uid,
      controller,
    });
    assert.equal(occupantOf(meta([ref(UID, true)]), UID)?.ours, true);
    assert.equal(occupantOf(meta([ref(UID, false)]), UID)?.ours, false, "a plain owner reference");
    assert.equal(occupantOf(meta([ref("uid-old", true)]), UID)?.ours, false, "an earlier server's");
    assert.equal(occupantOf(meta([]), UID)?.ours, false, "no owner");
    assert.deepEqual(occupantOf(meta([ref("uid-old", true)]), UID)?.controller, {
      kind: "StyleServer",
      name: "api",
      uid: "uid-old",
    });
  });
});
