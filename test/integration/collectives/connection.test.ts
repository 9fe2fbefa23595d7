// Behaviour tied to the NATS connection: chunk size follows the server's
// max_payload, and a peer whose connection dies without saying goodbye is
// detected by silence (when enabled) long before the step deadline.
import assert from "node:assert/strict";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, it } from "node:test";
import { connect, type NatsConnection } from "nats";
import { Collective, StepTimeoutError } from "../../../trainer/collectives/index.js";
import { HEADER_BYTES } from "../../../trainer/collectives/header.js";
import { expectedMean, gradient, natsUrl, startNatsServer, type PrivateNats } from "./support.js";

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

it("chunks follow the server's max_payload", async () => {
  const dir = mkdtempSync(join(tmpdir(), "stylekube-nats-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, "nats.conf");
  writeFileSync(conf, "max_payload: 32768\n");
  const srv: PrivateNats = await startNatsServer(["-c", conf]);
  cleanup.push(() => srv.stop());
  const length = 100_003;
  const cs = await Promise.all(
    [0, 1, 2].map((rank) =>
      Collective.join({
        nats: { url: srv.url },
        jobId: "mp",
        attempt: 1,
        rank,
        worldSize: 3,
        stepTimeoutMs: 20_000,
        rendezvousTimeoutMs: 10_000,
      }),
    ),
  );
  cleanup.push(() => Promise.all(cs.map((c) => c.close())).then(() => undefined));
  assert.equal(cs[0]!.chunkElements, Math.floor((32768 - HEADER_BYTES) / 4));
  const got = await Promise.all(cs.map((c, r) => c.allreduceMean(gradient(5, r, 0, length), 0)));
  const want = expectedMean(5, 3, 0, length);
  for (const g of got) assert.deepEqual(g, want);
  // ~100k floats over 3 owners in 8 KiB-ish chunks: many messages each way.
  assert.ok(cs[0]!.stats().messagesOut > 10, JSON.stringify(cs[0]!.stats()));
});

it("a peer that vanishes without a goodbye is detected by silence before the deadline", async () => {
  const jobId = `silence-${process.pid}-${Date.now()}`;
  const ncs: NatsConnection[] = await Promise.all([0, 1].map(() => connect({ servers: natsUrl() })));
  cleanup.push(() =>
    Promise.all(ncs.map((nc) => (nc.isClosed() ? undefined : nc.close()))).then(() => undefined),
  );
  const opts = {
    jobId,
    attempt: 1,
    worldSize: 2,
    stepTimeoutMs: 30_000,
    heartbeatMs: 100,
    peerSilenceTimeoutMs: 600,
  };
  const [c0] = await Promise.all([0, 1].map((rank) => Collective.join({ ...opts, rank, nc: ncs[rank]! })));
  cleanup.push(() => c0!.close());
  // The connection drops under rank 1 (as when its pod's node dies): no leave.
  await ncs[1]!.close();
  const t0 = performance.now();
  const err = await c0!.allreduceMean(new Float32Array(10), 0).then(
    () => assert.fail("allreduce must fail"),
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  assert.ok(err instanceof StepTimeoutError, String(err));
  assert.deepEqual(err.missingRanks, [1]);
  assert.match(err.message, /rank 1 silent/);
  assert.ok(ms < 5_000, `detected after ${ms} ms (deadline 30 s)`);
  // Poisoned: the next operation fails at once with the same error.
  await assert.rejects(c0!.barrier(), (e: unknown) => e === err);
});
