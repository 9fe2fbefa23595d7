// Loss history and preview memory of the dashboard: means over ranks, the
// curve after a gang restart, and the bounds that keep the operator small.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LossHistory, PreviewIndex } from "../../../controller/dashboard/history.js";
import type { ProgressMessage } from "../../../common/progress.js";

const msg = (attempt: number, rank: number, step: number, total: number): ProgressMessage => ({
  jobId: "ns-job",
  attempt,
  rank,
  step,
  totalSteps: 1000,
  imagesPerSecond: 1,
  loss: { total, content: total / 2, style: total / 4, tv: total / 8 },
  time: new Date(1_700_000_000_000 + step).toISOString(),
});

describe("LossHistory", () => {
  it("keeps one point per step, the mean over ranks", () => {
    const h = new LossHistory(100);
    h.add("k", msg(1, 0, 10, 4));
    h.add("k", msg(1, 1, 10, 8));
    h.add("k", msg(1, 0, 20, 2));
    h.add("k", msg(1, 1, 20, 4));
    assert.deepEqual(
      h.points("k").map((p) => [p.step, p.total, p.tv]),
      [
        [10, 6, 0.75],
        [20, 3, 0.375],
      ],
    );
  });

  it("counts a repeated message of one rank once", () => {
    const h = new LossHistory(100);
    h.add("k", msg(1, 0, 10, 4));
    h.add("k", msg(1, 0, 10, 4));
    h.add("k", msg(1, 1, 10, 8));
    assert.equal(h.points("k")[0]!.total, 6);
  });

  it("folds in a slower rank's earlier step, but ignores steps long closed", () => {
    const h = new LossHistory(100);
    for (let s = 1; s <= 20; s++) h.add("k", msg(1, 0, s, 10));
    assert.ok(h.add("k", msg(1, 1, 18, 20)));
    assert.equal(h.points("k").find((p) => p.step === 18)!.total, 15);
    assert.equal(h.add("k", msg(1, 1, 2, 20)), undefined);
  });

  it("drops the redone tail when a new attempt resumes from a checkpoint, and ignores the old attempt", () => {
    const h = new LossHistory(100);
    for (let s = 0; s <= 50; s += 10) h.add("k", msg(1, 0, s, 100 - s));
    h.add("k", msg(2, 0, 30, 1));
    assert.deepEqual(
      h.points("k").map((p) => p.step),
      [0, 10, 20, 30],
    );
    assert.equal(h.points("k").at(-1)!.total, 1);
    assert.equal(h.add("k", msg(1, 0, 60, 5)), undefined);
  });

  it("stays within its bound, keeping the first and the newest points", () => {
    const h = new LossHistory(64);
    for (let s = 0; s < 10_000; s++) h.add("k", msg(1, 0, s, 1));
    const pts = h.points("k");
    assert.ok(pts.length <= 64, `${pts.length} points`);
    assert.equal(pts[0]!.step, 0);
    assert.equal(pts.at(-1)!.step, 9999);
    assert.equal(pts.at(-2)!.step, 9998);
    for (let i = 1; i < pts.length; i++) assert.ok(pts[i]!.step > pts[i - 1]!.step);
  });

  it("forgets a training", () => {
    const h = new LossHistory(10);
    h.add("k", msg(1, 0, 1, 1));
    h.forget("k");
    assert.deepEqual(h.points("k"), []);
  });
});

describe("PreviewIndex", () => {
  it("lists the photos of each step and keeps the newest steps", () => {
    const p = new PreviewIndex(2);
    assert.equal(p.add("k", 200, ["00-cat", "01-sea"]), true);
    assert.equal(p.add("k", 100, ["00-cat"]), true);
    assert.equal(p.add("k", 100, ["00-cat"]), false);
    // After a restart the listing finds one photo at a time: they merge.
    assert.equal(p.add("k", 100, ["01-sea"]), true);
    assert.deepEqual(p.list("k"), [
      { step: 100, photos: ["00-cat", "01-sea"] },
      { step: 200, photos: ["00-cat", "01-sea"] },
    ]);
    p.add("k", 300, ["00-cat"]);
    assert.deepEqual(
      p.list("k").map((x) => x.step),
      [200, 300],
    );
    assert.equal(p.has("k", "00-cat", 300), true);
    assert.equal(p.has("k", "01-sea", 300), false);
    assert.equal(p.has("k", "01-sea"), true, "stylised at some step (200)");
    assert.equal(p.has("k", "00-cat", 100), false, "step 100 was dropped");
    assert.equal(p.has("other", "00-cat"), false);
  });
});
