import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay } from "../../../controller/kube/backoff.js";
import { WorkQueue } from "../../../controller/kube/workqueue.js";

describe("WorkQueue", () => {
  it("deduplicates keys waiting in the queue", async () => {
    const q = new WorkQueue();
    q.add("a");
    q.add("b");
    q.add("a");
    assert.equal(q.length, 2);
    assert.equal(await q.get(), "a");
    assert.equal(await q.get(), "b");
  });

  it("never hands out a key being processed; re-adds it after done", async () => {
    const q = new WorkQueue();
    q.add("a");
    const key = await q.get();
    q.add("a"); // event while processing
    assert.equal(q.length, 0, "must not be handed out twice at once");
    q.done(key!);
    assert.equal(q.length, 1);
    assert.equal(await q.get(), "a");
  });

  it("wakes a waiting consumer and ends on shutdown", async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add("x");
    assert.equal(await got, "x");
    const pending = q.get();
    q.shutDown();
    assert.equal(await pending, undefined);
  });

  it("retries with growing backoff and forgets on success", async () => {
    const q = new WorkQueue(undefined, 10, 1000);
    const d1 = q.addRateLimited("k");
    const d2 = q.addRateLimited("k");
    assert.ok(d1 >= 5 && d1 <= 10, `first delay ${d1}`);
    assert.ok(d2 >= 10 && d2 <= 20, `second delay ${d2}`);
    // the queue's timers are unref'd (they must not keep a process alive); keep this test alive
    const keepAlive = setTimeout(() => {}, 1000);
    assert.equal(await q.get(), "k");
    clearTimeout(keepAlive);
    q.forget("k");
    q.done("k");
    q.shutDown();
  });

  it("backoff is capped", () => {
    for (let i = 0; i < 40; i++) assert.ok(backoffDelay(i, 500, 30_000) <= 30_000);
    assert.equal(
      backoffDelay(3, 100, 10_000, () => 1),
      800,
    );
    assert.equal(
      backoffDelay(3, 100, 10_000, () => 0),
      400,
    );
  });
});
