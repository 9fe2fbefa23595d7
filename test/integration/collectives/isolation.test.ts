// Attempts of one job are isolated: a straggler of attempt 1 — on its own
// subjects, or even on attempt 2's — cannot change attempt 2's averages, and
// late messages of a finished step are ignored.
import assert from "node:assert/strict";
import { after, it } from "node:test";
import { connect, type NatsConnection } from "nats";
import { Collective } from "../../../trainer/collectives/index.js";
import { ChunkKind, buildMessage, jobHash } from "../../../trainer/collectives/header.js";
import { chunksOf, sliceOf } from "../../../trainer/collectives/chunking.js";
import { encodeControl } from "../../../trainer/collectives/control.js";
import { attemptSubjects } from "../../../trainer/collectives/subjects.js";
import { expectedMean, gradient, natsUrl } from "./support.js";

const conns: NatsConnection[] = [];
const collectives: Collective[] = [];
after(async () => {
  await Promise.all(collectives.map((c) => c.close()));
  await Promise.all(conns.map((nc) => nc.close()));
});

async function gang(jobId: string, attempt: number, worldSize: number): Promise<Collective[]> {
  const cs = await Promise.all(
    Array.from({ length: worldSize }, (_, rank) =>
      Collective.join({
        nats: { url: natsUrl() },
        jobId,
        attempt,
        rank,
        worldSize,
        stepTimeoutMs: 10_000,
        rendezvousTimeoutMs: 10_000,
      }),
    ),
  );
  collectives.push(...cs);
  return cs;
}

function assertMean(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

it("attempt 1 stragglers do not disturb attempt 2, and stale steps are dropped", async () => {
  const jobId = `iso-${process.pid}-${Date.now()}`;
  const length = 300_007;
  const N = 2;
  const [old, cur] = await Promise.all([gang(jobId, 1, N), gang(jobId, 2, N)]);
  const rogue = await connect({ servers: natsUrl() });
  conns.push(rogue);
  const s2 = attemptSubjects(jobId, 2);
  const poison = Float32Array.from({ length }, () => 1e30);
  // Messages that look exactly like real chunks of rank 1 for attempt 2's
  // current geometry — except for the attempt (or step) in the header.
  const forge = (kind: ChunkKind, attempt: number, step: number, owner: number): Uint8Array[] =>
    chunksOf(sliceOf(length, N, owner), cur[0]!.chunkElements).map((c) =>
      buildMessage(
        {
          kind,
          jobHash: jobHash(jobId),
          attempt,
          step,
          rank: 1,
          worldSize: N,
          chunkIndex: c.index,
          chunkCount: c.count,
          offset: c.offset,
          total: length,
        },
        poison,
        c.offset,
        c.length,
      ),
    );

  for (let step = 0; step < 3; step++) {
    // Attempt 1 keeps running on the same job at the same time (a straggling
    // gang), with different data.
    const oldRun = Promise.all(old.map((c, r) => c.allreduceMean(gradient(100, r, step, length), step)));
    // Attempt-1 headers published straight onto attempt 2's subjects.
    for (const m of forge(ChunkKind.reduceScatter, 1, step, 0)) rogue.publish(s2.reduceScatter(0), m);
    for (const m of forge(ChunkKind.allGather, 1, step, 1)) rogue.publish(s2.allGather, m);
    // An attempt-1 "leave" on attempt 2's control subject must not kill attempt 2.
    rogue.publish(
      s2.control,
      encodeControl({ t: "leave", job: jobId, attempt: 1, rank: 1, reason: "old attempt", blame: [] }),
    );
    if (step > 0) {
      // A late duplicate of the previous (finished) step with the right attempt.
      for (const m of forge(ChunkKind.reduceScatter, 2, step - 1, 0)) rogue.publish(s2.reduceScatter(0), m);
    }
    await rogue.flush();
    const got = await Promise.all(cur.map((c, r) => c.allreduceMean(gradient(200, r, step, length), step)));
    const want = expectedMean(200, N, step, length);
    got.forEach((g, r) => assertMean(g, want, `attempt 2 rank ${r} step ${step}`));
    const gotOld = await oldRun;
    assertMean(gotOld[0]!, expectedMean(100, N, step, length), `attempt 1 step ${step}`);
  }
  await Promise.all(cur.map((c) => c.barrier("end")));
  const st = cur[0]!.stats();
  assert.ok(
    st.dropped.foreign >= 3 * 3,
    `attempt-1 messages dropped as foreign: ${JSON.stringify(st.dropped)}`,
  );
  assert.ok(st.dropped.stale >= 2, `stale-step messages dropped: ${JSON.stringify(st.dropped)}`);
  // Attempt 1 never saw a byte of attempt 2: the subjects keep them apart.
  assert.equal(old[0]!.stats().dropped.foreign, 0);
});
