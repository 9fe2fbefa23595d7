import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReplayLog, type LoggedMessage } from "../../../trainer/collectives/replay-log.js";

const msg = (subject: string, to: number | undefined, byte = 0): LoggedMessage => ({
  subject,
  data: new Uint8Array([byte, 1, 2, 3]),
  to,
});

describe("replay log", () => {
  it("keeps an operation's messages, in order, with their bytes", () => {
    const log = new ReplayLog();
    log.begin("allreduce step 0");
    const a = msg("rs.1", 1, 7);
    const b = msg("ag", undefined, 8);
    log.record(a);
    log.record(b);
    assert.deepEqual(log.messagesFor(undefined), [a, b]);
    assert.equal(log.messagesFor(undefined)[0]!.data, a.data, "the encoded message itself, not a copy");
    assert.equal(log.bytes(), 8);
  });

  it("sends a peer what reaches it: its own subject and the ones every rank hears", () => {
    const log = new ReplayLog();
    log.begin("allreduce step 3");
    const to1 = msg("rs.1", 1);
    const to2 = msg("rs.2", 2);
    const all = msg("ag", undefined);
    for (const m of [to1, to2, all]) log.record(m);
    assert.deepEqual(log.messagesFor(1), [to1, all]);
    assert.deepEqual(log.messagesFor(2), [to2, all]);
    assert.deepEqual(log.messagesFor(0), [all]);
    assert.deepEqual(log.messagesFor(undefined), [to1, to2, all]);
  });

  it("keeps every operation until all ranks are known to have begun a later one", () => {
    const log = new ReplayLog();
    log.begin("broadcast #0");
    log.record(msg("bc", undefined, 1));
    log.begin("broadcast #1");
    log.record(msg("bc", undefined, 2));
    log.begin("allreduce step 0");
    log.record(msg("rs.1", 1, 3));
    assert.deepEqual(log.labels(), ["broadcast #0", "broadcast #1", "allreduce step 0"]);
    // Completing step 0 proves every peer began it, so both broadcasts reached
    // everyone; step 0 itself may still be missing somewhere.
    log.everyRankBeganNewest();
    assert.deepEqual(log.labels(), ["allreduce step 0"]);
    assert.deepEqual(
      log.messagesFor(undefined).map((m) => m.data[0]),
      [3],
    );
    log.begin("allreduce step 1");
    assert.deepEqual(log.labels(), ["allreduce step 0", "allreduce step 1"]);
    log.everyRankBeganNewest();
    assert.deepEqual(log.labels(), ["allreduce step 1"]);
    assert.equal(log.bytes(), 0);
  });

  it("refuses a message outside any operation", () => {
    assert.throws(() => new ReplayLog().record(msg("ag", undefined)), /outside any operation/);
  });
});
