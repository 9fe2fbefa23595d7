// Failure handling across real worker processes: a worker that never starts,
// one killed without warning, one terminated politely. Every survivor must
// fail within the deadline with an error naming the rank at fault.
import assert from "node:assert/strict";
import { after, it } from "node:test";
import {
  isError,
  isStep,
  natsUrl,
  startWorker,
  stopAll,
  type WorkerConfig,
  type WorkerHandle,
} from "./support.js";

const started: WorkerHandle[] = [];
after(() => stopAll(started));

function worker(rank: number, jobId: string, over: Partial<WorkerConfig> = {}): WorkerHandle {
  const w = startWorker({
    nats: { url: natsUrl() },
    jobId,
    attempt: 1,
    rank,
    worldSize: 3,
    mode: "allreduce",
    length: 200_003,
    steps: 100_000,
    stepDelayMs: 20,
    seed: 3,
    stepTimeoutMs: 3_000,
    rendezvousTimeoutMs: 60_000,
    ...over,
  });
  started.push(w);
  return w;
}

const job = (name: string): string => `${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

it("rendezvous times out naming the rank that never started", async () => {
  const jobId = job("rdv");
  const rendezvousTimeoutMs = 4_000;
  const t0 = Date.now();
  const present = [worker(0, jobId, { rendezvousTimeoutMs }), worker(2, jobId, { rendezvousTimeoutMs })];
  const errors = await Promise.all(present.map((w) => w.waitFor(isError, 30_000)));
  for (const e of errors) {
    assert.deepEqual(e.missingRanks, [1], `rank ${e.rank}: ${e.message}`);
    assert.match(e.message, /rank 1\b/);
    // process start (tsx) + deadline; well short of "hangs"
    assert.ok(e.at - t0 < rendezvousTimeoutMs + 8_000, `rank ${e.rank} failed after ${e.at - t0} ms`);
  }
  assert.ok(
    errors.some((e) => e.name === "RendezvousTimeoutError"),
    JSON.stringify(errors),
  );
  assert.deepEqual(await Promise.all(present.map((w) => w.exited)), [1, 1]);
});

it("a worker killed mid-run (SIGKILL) fails the others within the step deadline, naming it", async () => {
  const jobId = job("kill");
  const stepTimeoutMs = 3_000;
  const ws = [0, 1, 2].map((r) => worker(r, jobId, { stepTimeoutMs }));
  await Promise.all(ws.map((w) => w.waitFor(isStep(3), 60_000)));
  const killedAt = Date.now();
  ws[1]!.proc.kill("SIGKILL");
  const survivors = [ws[0]!, ws[2]!];
  const errors = await Promise.all(survivors.map((w) => w.waitFor(isError, stepTimeoutMs + 10_000)));
  for (const e of errors) {
    assert.deepEqual(e.missingRanks, [1], `rank ${e.rank}: ${e.message}`);
    assert.match(e.message, /rank 1\b/);
    // One step delay plus the deadline, plus IPC slack on a loaded 2-core box.
    assert.ok(
      e.at - killedAt <= stepTimeoutMs + 1_500,
      `rank ${e.rank} failed ${e.at - killedAt} ms after the kill`,
    );
  }
  assert.deepEqual(await Promise.all(survivors.map((w) => w.exited)), [1, 1]);
});

it("a worker terminated politely (SIGTERM) says so and the others fail at once, long before the deadline", async () => {
  const jobId = job("term");
  const stepTimeoutMs = 30_000;
  const ws = [0, 1, 2].map((r) => worker(r, jobId, { stepTimeoutMs }));
  await Promise.all(ws.map((w) => w.waitFor(isStep(3), 60_000)));
  const killedAt = Date.now();
  ws[2]!.proc.kill("SIGTERM");
  const errors = await Promise.all([ws[0]!, ws[1]!].map((w) => w.waitFor(isError, 10_000)));
  for (const e of errors) {
    assert.equal(e.name, "PeerLeftError", e.message);
    assert.deepEqual(e.missingRanks, [2], e.message);
    assert.match(e.message, /rank 2 left the collective/);
    assert.ok(e.at - killedAt < 2_000, `rank ${e.rank} failed ${e.at - killedAt} ms after SIGTERM`);
  }
  assert.equal(await ws[2]!.exited, 143);
});
