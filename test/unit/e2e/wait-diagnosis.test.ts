// A wait on pods that times out says what it waited for and why it did not
// happen: the case of a worker that never scheduled because another
// namespace's server pod held the node's CPU, as kubectl's JSON gives it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  describePod,
  describePods,
  type DiagnosedEvent,
  type DiagnosedPod,
} from "../../support/pod-diagnosis.js";
import { explanation, until } from "../../e2e/until.js";

const running: DiagnosedPod = {
  metadata: { name: "e2e-mosaic-a1-w0" },
  spec: { nodeName: "stylekube-node" },
  status: {
    phase: "Running",
    conditions: [
      { type: "PodScheduled", status: "True" },
      { type: "Ready", status: "True" },
    ],
    containerStatuses: [{ name: "worker", ready: true, restartCount: 0, state: {} }],
  },
};
const unschedulable: DiagnosedPod = {
  metadata: { name: "e2e-mosaic-a1-w1" },
  spec: {},
  status: {
    phase: "Pending",
    conditions: [
      {
        type: "PodScheduled",
        status: "False",
        reason: "Unschedulable",
        message: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable.",
      },
    ],
  },
};
const crashing: DiagnosedPod = {
  metadata: { name: "e2e-server-7c9-x" },
  spec: { nodeName: "stylekube-node" },
  status: {
    phase: "Running",
    conditions: [{ type: "Ready", status: "False", reason: "ContainersNotReady" }],
    containerStatuses: [
      {
        name: "server",
        ready: false,
        restartCount: 3,
        state: {
          waiting: { reason: "CrashLoopBackOff", message: "back-off 40s restarting failed container" },
        },
      },
    ],
  },
};
const events: DiagnosedEvent[] = [
  {
    type: "Warning",
    reason: "FailedScheduling",
    message: "0/3 nodes are available: 1 Insufficient cpu.",
    count: 4,
    involvedObject: { kind: "Pod", name: "e2e-mosaic-a1-w1" },
    lastTimestamp: "2026-12-08T03:00:10Z",
  },
  {
    type: "Normal",
    reason: "Started",
    involvedObject: { kind: "Pod", name: "e2e-mosaic-a1-w0" },
    lastTimestamp: "2026-12-08T03:00:05Z",
  },
  {
    type: "Normal",
    reason: "ScalingReplicaSet",
    involvedObject: { kind: "Deployment", name: "other" },
    lastTimestamp: "2026-12-08T03:00:01Z",
  },
];

describe("pod diagnosis", () => {
  it("an unschedulable pod: phase, no node and the scheduler's reason", () => {
    assert.equal(
      describePod(unschedulable),
      "pod e2e-mosaic-a1-w1: phase Pending; no node; PodScheduled=False " +
        "(Unschedulable: 0/3 nodes are available: 1 Insufficient cpu, 2 node(s) were unschedulable.)",
    );
  });

  it("a crash-looping container: its waiting reason and restarts; a healthy pod names only phase and node", () => {
    assert.match(
      describePod(crashing),
      /Ready=False \(ContainersNotReady\); container server waiting \(CrashLoopBackOff: back-off 40s .*, 3 restarts\)/,
    );
    assert.equal(describePod(running), "pod e2e-mosaic-a1-w0: phase Running; node stylekube-node");
  });

  it("lists the pods, then their events oldest first, leaving out other objects' events", () => {
    const text = describePods("stylekube.io/training=e2e-mosaic", [running, unschedulable], events);
    const lines = text.split("\n");
    assert.equal(lines.length, 4);
    assert.match(lines[1]!, /^pod e2e-mosaic-a1-w1: phase Pending/);
    assert.equal(lines[2], "event Normal Pod/e2e-mosaic-a1-w0: Started");
    assert.equal(
      lines[3],
      "event Warning Pod/e2e-mosaic-a1-w1: FailedScheduling: 0/3 nodes are available: 1 Insufficient cpu. (×4)",
    );
  });

  it("no pods: says so and shows the namespace's events (a ReplicaSet that cannot create them)", () => {
    const text = describePods("stylekube.io/server=e2e in stylekube-e2e", [], events);
    assert.match(text, /^no pods match stylekube\.io\/server=e2e in stylekube-e2e\n/);
    assert.match(text, /Deployment\/other: ScalingReplicaSet/);
  });
});

describe("until", () => {
  it("returns the probe's first value", async () => {
    let calls = 0;
    const v = await until("three calls", 5_000, async () => (++calls === 3 ? "done" : undefined), {
      intervalMs: 1,
    });
    assert.equal(v, "done");
  });

  it("on timeout names what it waited for, the last error and the explanation", async () => {
    await assert.rejects(
      until(
        "two Ready worker pods of attempt 1",
        50,
        async () => {
          throw new Error("connection refused");
        },
        { intervalMs: 5, explain: async () => describePod(unschedulable) },
      ),
      (err: Error) => {
        assert.match(err.message, /^timed out after 0\.05 s waiting for two Ready worker pods of attempt 1/);
        assert.match(err.message, /last error: Error: connection refused/);
        assert.match(err.message, /\nwhy:\npod e2e-mosaic-a1-w1: phase Pending; no node; PodScheduled=False/);
        return true;
      },
    );
  });

  it("an explanation that fails is reported, not thrown instead of the timeout", async () => {
    const tail = await explanation(async () => {
      throw new Error("kubectl: connection refused");
    });
    assert.equal(tail, "\nwhy: unknown (explaining failed: kubectl: connection refused)");
    assert.equal(await explanation(undefined), "");
  });
});
