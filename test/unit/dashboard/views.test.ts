// What the page is told about a training: pod phases with the reason a worker
// is not running (a training must never look healthy while a worker fails),
// and live progress only while it is ahead of the status.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as k8s from "@kubernetes/client-node";
import { serverView, trainingView, workerView } from "../../../controller/dashboard/views.js";

const pod = (name: string, attempt: number, rank: number, status: k8s.V1PodStatus): k8s.V1Pod => ({
  metadata: {
    name,
    namespace: "ns",
    labels: {
      "stylekube.io/training": "t",
      "stylekube.io/attempt": String(attempt),
      "stylekube.io/rank": String(rank),
    },
  },
  status,
});

describe("workerView", () => {
  it("says why a worker is not running", () => {
    const w = workerView(
      pod("t-a1-w0", 1, 0, {
        phase: "Pending",
        containerStatuses: [
          {
            name: "worker",
            image: "i",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: "ImagePullBackOff" } },
          },
        ],
      }),
    );
    assert.equal(w.reason, "ImagePullBackOff");
    assert.equal(w.ready, false);
    const f = workerView(
      pod("t-a1-w1", 1, 1, {
        phase: "Failed",
        containerStatuses: [
          {
            name: "worker",
            image: "i",
            imageID: "",
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 137, reason: "OOMKilled" } },
          },
        ],
      }),
    );
    assert.equal(f.reason, "OOMKilled (exit 137)");
    assert.equal(f.phase, "Failed");
    assert.equal(f.rank, 1);
  });
});

describe("trainingView", () => {
  const training = {
    metadata: { name: "t", namespace: "ns", uid: "u" },
    spec: { style: "s3://bkt/s.jpg", dataset: "s3://bkt/d/", output: "s3://bkt/o/", workers: 2 },
    status: {
      phase: "Running" as const,
      attempt: 1,
      progress: { step: 100, totalSteps: 1000, percent: 10, imagesPerSecond: 5 },
    },
  };
  const live = { step: 150, totalSteps: 1000, percent: 15, imagesPerSecond: 6 };

  it("prefers live progress while it is ahead of the status", () => {
    const v = trainingView({
      training,
      pods: [],
      liveProgress: live,
      events: [],
      previews: [{ step: 100, photos: ["00-cat"] }],
    });
    assert.equal(v.live, true);
    assert.equal(v.progress?.step, 150);
    assert.equal(v.workers.desired, 2);
    assert.equal(v.output, "s3://bkt/o/");
    assert.deepEqual(v.previews, [{ step: 100, photos: ["00-cat"] }]);
    const stale = trainingView({
      training,
      pods: [],
      liveProgress: { ...live, step: 50 },
      events: [],
      previews: [],
    });
    assert.equal(stale.live, false);
    assert.equal(stale.progress?.step, 100);
  });

  it("lists the current attempt's workers first, by rank", () => {
    const pods = [
      pod("t-a1-w1", 1, 1, { phase: "Failed" }),
      pod("t-a2-w1", 2, 1, { phase: "Running" }),
      pod("t-a2-w0", 2, 0, { phase: "Running" }),
    ];
    const v = trainingView({ training, pods, liveProgress: undefined, events: [], previews: [] });
    assert.deepEqual(
      v.pods.map((p) => p.name),
      ["t-a2-w0", "t-a2-w1", "t-a1-w1"],
    );
  });

  it("still shows a training whose spec is invalid", () => {
    const v = trainingView({
      training: { ...training, spec: { workers: "two" } },
      pods: [],
      liveProgress: undefined,
      events: [],
      previews: [],
    });
    assert.equal(v.invalidSpec, true);
    assert.equal(v.output, null);
  });
});

describe("serverView", () => {
  it("reports replicas, styles and autoscaling", () => {
    const v = serverView(
      {
        metadata: { name: "default", namespace: "ns" },
        spec: {
          replicas: 3,
          styles: { mosaic: { modelURI: "s3://bkt/m/" }, candy: { modelURI: "s3://bkt/c/" } },
          autoscaling: { maxReplicas: 5, targetCPUUtilizationPercentage: 70 },
        },
        status: { readyReplicas: 2, replicas: 3, loadedStyles: ["mosaic"] },
      },
      [],
    );
    assert.deepEqual(v.styles, ["candy", "mosaic"]);
    assert.equal(v.readyReplicas, 2);
    assert.deepEqual(v.autoscaling, { minReplicas: 1, maxReplicas: 5 });
  });
});
