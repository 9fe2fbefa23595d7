// A data-parallel worker for the collectives integration tests: joins the
// collective, then allreduces (or broadcasts) deterministic buffers for a
// number of steps, writing each result to disk and reporting over IPC.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Collective, CollectiveError } from "../../../trainer/collectives/index.js";
import { gradient, type WorkerConfig, type WorkerReport } from "./support.js";

const config = JSON.parse(process.env.COLLECTIVE_WORKER_CONFIG ?? "{}") as WorkerConfig;
const report = (r: WorkerReport): void => {
  process.send?.(r);
};

let collective: Collective | undefined;
// A terminated pod (kubectl delete, eviction) says goodbye so the rest of the
// gang fails now instead of at the step deadline.
process.once("SIGTERM", () => {
  void (collective?.close("SIGTERM") ?? Promise.resolve()).finally(() => process.exit(143));
});

try {
  collective = await Collective.join({
    nats: config.nats,
    jobId: config.jobId,
    attempt: config.attempt,
    rank: config.rank,
    worldSize: config.worldSize,
    stepTimeoutMs: config.stepTimeoutMs,
    rendezvousTimeoutMs: config.rendezvousTimeoutMs,
    ...(config.maxChunkBytes !== undefined ? { maxChunkBytes: config.maxChunkBytes } : {}),
  });
  report({ type: "joined", rank: config.rank, chunkElements: collective.chunkElements });
  for (let step = 0; step < config.steps; step++) {
    const t0 = performance.now();
    let result: Float32Array;
    if (config.mode === "allreduce") {
      result = await collective.allreduceMean(gradient(config.seed, config.rank, step, config.length), step);
    } else {
      const root = config.root ?? 0;
      const buf =
        config.rank === root
          ? gradient(config.seed, root, step, config.length)
          : new Float32Array(config.length);
      result = await collective.broadcast(buf, root);
    }
    const ms = performance.now() - t0;
    if (config.outDir) {
      writeFileSync(
        join(config.outDir, `r${config.rank}-s${step}.bin`),
        new Uint8Array(result.buffer, result.byteOffset, result.byteLength),
      );
    }
    report({ type: "step", rank: config.rank, step, ms });
    if (config.stepDelayMs) await new Promise((r) => setTimeout(r, config.stepDelayMs));
  }
  await collective.barrier("end");
  await collective.close();
  report({ type: "done", rank: config.rank, stats: collective.stats() });
  process.disconnect?.();
} catch (e) {
  report({
    type: "error",
    rank: config.rank,
    name: e instanceof Error ? e.name : "Error",
    message: e instanceof Error ? e.message : String(e),
    missingRanks: e instanceof CollectiveError ? [...e.missingRanks] : [],
    at: Date.now(),
  });
  await collective?.close().catch(() => undefined);
  process.exitCode = 1;
  process.disconnect?.();
}
