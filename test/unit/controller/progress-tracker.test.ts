import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../../common/log/logger.js";
import type { ProgressMessage } from "../../../common/progress.js";
import { ProgressTracker } from "../../../controller/training/progress-tracker.js";

const enc = (m: ProgressMessage) => new TextEncoder().encode(JSON.stringify(m));
const msg = (over: Partial<ProgressMessage>): ProgressMessage => ({
  jobId: "uid",
  attempt: 1,
  rank: 0,
  step: 10,
  totalSteps: 100,
  imagesPerSecond: 8,
  loss: { total: 10, content: 2, style: 1, tv: 0.5 },
  time: "2026-01-01T00:00:00Z",
  ...over,
});

describe("ProgressTracker", () => {
  it("sums throughput, averages loss over ranks, and estimates the ETA", () => {
    const t = new ProgressTracker(() => {}, 1000, createLogger("test", "silent"));
    t.observe("ns/a", enc(msg({ rank: 0, loss: { total: 10, content: 2, style: 1, tv: 0.5 } })));
    t.observe("ns/a", enc(msg({ rank: 1, loss: { total: 20, content: 4, style: 3, tv: 0.5 } })));
    const s = t.summary("ns/a", 1, 8)!;
    assert.equal(s.progress?.step, 10);
    assert.equal(s.progress?.percent, 10);
    assert.equal(s.progress?.imagesPerSecond, 16);
    assert.deepEqual(s.progress?.loss, { total: 15, content: 3, style: 2, tv: 0.5 });
    // 16 images/s over a global batch of 8 = 2 steps/s; 90 steps left
    assert.equal(s.progress?.etaSeconds, 45);
    t.stop();
  });

  it("ignores stragglers from an older attempt and malformed messages", () => {
    const t = new ProgressTracker(() => {}, 1000, createLogger("test", "silent"));
    t.observe("ns/a", enc(msg({ attempt: 2, step: 5 })));
    t.observe("ns/a", enc(msg({ attempt: 1, step: 50 })));
    t.observe("ns/a", new TextEncoder().encode("{not json"));
    assert.equal(t.summary("ns/a", 2, 4)?.progress?.step, 5);
    assert.equal(t.rejected, 1);
    t.stop();
  });

  it("keeps the newest checkpoint across attempts", () => {
    const t = new ProgressTracker(() => {}, 1000, createLogger("test", "silent"));
    t.observe("ns/a", enc(msg({ checkpoint: { uri: "s3://b/ckpt/000100/", step: 100 } })));
    t.observe("ns/a", enc(msg({ attempt: 2, step: 101 })));
    assert.equal(t.summary("ns/a", 2, 4)?.lastCheckpoint?.uri, "s3://b/ckpt/000100/");
    t.stop();
  });

  it("notifies at most once per interval", async () => {
    let notified = 0;
    const t = new ProgressTracker(() => notified++, 50, createLogger("test", "silent"));
    for (let i = 0; i < 20; i++) t.observe("ns/a", enc(msg({ step: i })));
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(notified, 1);
    for (let i = 20; i < 40; i++) t.observe("ns/a", enc(msg({ step: i })));
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(notified, 2);
    t.stop();
  });
});
