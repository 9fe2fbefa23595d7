import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backoffDelay } from "../../../controller/kube/backoff.js";
import { WorkQueue } from "../../../controller/kube/workqueue.js";
import { FakeClock } from "../../support/fake-clock.js";

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

  it("addAfter keeps the earliest pending time for a key", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(undefined, 500, 300_000, clock);
    q.addAfter("k", 300_000); // e.g. a TTL far away
    q.addAfter("k", 5_000); // then a deadline much sooner
    await clock.advance(4_999);
    assert.equal(q.length, 0, "not before the earlier time");
    await clock.advance(1);
    assert.equal(q.length, 1, "due at the earlier time, not the first one asked for");
    assert.equal(await q.get(), "k");
    q.done("k");
    await clock.advance(300_000);
    assert.equal(q.length, 0, "the later request was superseded, not kept as a second timer");
    assert.equal(clock.pending, 0);
  });

  it("a later addAfter does not push back an earlier one", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(undefined, 500, 300_000, clock);
    q.addAfter("k", 1_000);
    q.addAfter("k", 60_000);
    await clock.advance(1_000);
    assert.equal(q.length, 1);
    assert.equal(clock.pending, 0);
  });

  it("addAfter with no delay adds at once and drops the pending timer", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(undefined, 500, 300_000, clock);
    q.addAfter("k", 10_000);
    q.addAfter("k", 0);
    assert.equal(q.length, 1);
    assert.equal(clock.pending, 0);
  });

  it("rate-limited retries come back after their backoff on the queue's clock", async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(undefined, 1_000, 60_000, clock);
    const delays = [q.addRateLimited("k")];
    await clock.advance(delays[0]! - 1);
    assert.equal(q.length, 0);
    await clock.advance(1);
    assert.equal(await q.get(), "k");
    q.done("k");
    delays.push(q.addRateLimited("k"), q.addRateLimited("k"));
    assert.ok(delays[1]! >= 1_000 && delays[1]! <= 2_000, `second delay ${delays[1]}`);
    assert.ok(delays[2]! >= 2_000 && delays[2]! <= 4_000, `third delay ${delays[2]}`);
    await clock.advance(Math.min(delays[1]!, delays[2]!));
    assert.equal(q.length, 1, "due at the earlier of the two");
    q.forget("k");
    assert.ok(q.addRateLimited("k") <= 1_000, "forgotten: back to the base delay");
    q.shutDown();
    assert.equal(clock.pending, 0, "shutdown cancels waiting keys");
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
