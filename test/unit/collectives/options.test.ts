import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeControl, encodeControl, type ControlMessage } from "../../../trainer/collectives/control.js";
import { CollectiveError, formatRanks, PeerLeftError } from "../../../trainer/collectives/errors.js";
import { CollectiveOptionsSchema, natsConnectionOptions } from "../../../trainer/collectives/options.js";
import { attemptSubjects, jobToken } from "../../../trainer/collectives/subjects.js";

describe("subjects", () => {
  it("scope every subject by job and attempt", () => {
    const s = attemptSubjects("7c9e6679-7425-40de-944b-e07fc1f90ae7", 2);
    assert.equal(s.control, "stylekube.7c9e6679-7425-40de-944b-e07fc1f90ae7.2.ctl");
    assert.equal(s.reduceScatter(3), "stylekube.7c9e6679-7425-40de-944b-e07fc1f90ae7.2.rs.3");
    assert.equal(s.replay(1), "stylekube.7c9e6679-7425-40de-944b-e07fc1f90ae7.2.rp.1");
    assert.notEqual(attemptSubjects("j", 1).allGather, attemptSubjects("j", 2).allGather);
  });

  it("hash job ids that would break subject syntax", () => {
    for (const bad of ["a.b", "x*", "ns/name >", "a".repeat(65)]) {
      const t = jobToken(bad);
      assert.match(t, /^h[0-9a-f]{32}$/, bad);
    }
    assert.notEqual(jobToken("a.b"), jobToken("a_b"));
    assert.throws(() => jobToken(""), /empty/);
  });
});

describe("options", () => {
  it("pass token, user/password through to the NATS client", () => {
    assert.equal(natsConnectionOptions({ url: "nats://h:1", token: "s3cret" }).token, "s3cret");
    const up = natsConnectionOptions({ url: "nats://a:1, nats://b:2", user: "u", pass: "p" });
    assert.deepEqual([up.user, up.pass, up.servers], ["u", "p", ["nats://a:1", "nats://b:2"]]);
    const creds = natsConnectionOptions({ url: "nats://h:1", credsFile: "/nonexistent.creds" });
    assert.equal(typeof creds.authenticator, "function");
    assert.equal(creds.token, undefined);
  });

  it("reconnect quickly and for about a minute, or as configured", () => {
    const d = natsConnectionOptions({ url: "nats://h:1" });
    assert.deepEqual([d.reconnectTimeWait, d.maxReconnectAttempts], [500, 120]);
    const o = natsConnectionOptions({ url: "nats://h:1", reconnectWaitMs: 100, maxReconnectAttempts: 5 });
    assert.deepEqual([o.reconnectTimeWait, o.maxReconnectAttempts], [100, 5]);
    assert.throws(() => natsConnectionOptions({ url: "nats://h:1", reconnectWaitMs: 0 }), /reconnectWaitMs/);
  });

  it("reject contradictory credentials", () => {
    assert.throws(() => natsConnectionOptions({ url: "nats://h:1", pass: "p" }), /pass needs user/);
    assert.throws(() => natsConnectionOptions({ url: "nats://h:1", token: "t", user: "u" }), /at most one/);
  });

  it("validate rank against world size and fill defaults", () => {
    const o = CollectiveOptionsSchema.parse({ jobId: "j", attempt: 1, rank: 0, worldSize: 2 });
    assert.equal(o.stepTimeoutMs, 120_000);
    assert.equal(o.peerSilenceTimeoutMs, 0);
    assert.equal(o.maxChunkBytes, 256 * 1024);
    assert.throws(
      () => CollectiveOptionsSchema.parse({ jobId: "j", attempt: 1, rank: 2, worldSize: 2 }),
      /rank must be less/,
    );
  });
});

describe("control messages", () => {
  it("round-trip and reject junk", () => {
    const m: ControlMessage = { t: "leave", job: "j", attempt: 1, rank: 2, reason: "SIGTERM", blame: [1] };
    assert.deepEqual(decodeControl(encodeControl(m)), m);
    const resend: ControlMessage = { t: "resend", job: "j", attempt: 1, rank: 0 };
    assert.deepEqual(decodeControl(encodeControl(resend)), resend);
    assert.equal(decodeControl(new TextEncoder().encode("not json")), undefined);
    assert.equal(decodeControl(new TextEncoder().encode('{"t":"hello","job":"j"}')), undefined);
  });
});

describe("errors", () => {
  it("name the ranks, and blame the root cause rather than the messenger", () => {
    assert.equal(formatRanks([3, 1]), "ranks 1, 3");
    assert.equal(formatRanks([2]), "rank 2");
    const e = new PeerLeftError(0, "timed out waiting for rank 2", "during allreduce step 4", [2]);
    assert.ok(e instanceof CollectiveError);
    assert.deepEqual(e.missingRanks, [2]);
    assert.equal(e.name, "PeerLeftError");
    assert.deepEqual(new PeerLeftError(1, "closed", "").missingRanks, [1]);
  });
});
