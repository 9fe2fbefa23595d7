// Helpers for the collectives integration tests: the shared NATS server from
// the test environment, private nats-server instances (auth, restarts), worker
// processes, and the deterministic data both workers and tests generate.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { readTestEnv } from "../../env/env-file.js";
import { freePorts, LOOPBACK } from "../../env/ports.js";
import type { CollectiveStats } from "../../../trainer/collectives/collective.js";
import type { NatsOptions } from "../../../trainer/collectives/options.js";
import { mulberry32 } from "../../../common/mulberry32.js";

/** Deterministic test data: the gradient rank `rank` contributes at `step`.
 * mulberry32, seeded per (seed, rank, step); values span a few orders of
 * magnitude so summation order would show in the low bits. */
export function gradient(seed: number, rank: number, step: number, length: number): Float32Array {
  const rand = mulberry32(
    Math.imul(seed, 0x9e3779b1) ^ Math.imul(rank + 1, 0x85ebca6b) ^ Math.imul(step + 7, 0xc2b2ae35),
  );
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    const u = rand();
    out[i] = (u * 2 - 1) * (i % 3 === 0 ? 1e3 : i % 3 === 1 ? 1 : 1e-3);
  }
  return out;
}

/** The mean the collective must produce, computed independently here. */
export function expectedMean(seed: number, worldSize: number, step: number, length: number): Float32Array {
  const sum = new Float64Array(length);
  for (let r = 0; r < worldSize; r++) {
    const g = gradient(seed, r, step, length);
    for (let i = 0; i < length; i++) sum[i]! += g[i]!;
  }
  return Float32Array.from(sum, (s) => s / worldSize);
}

export function natsUrl(): string {
  return readTestEnv().natsUrl;
}

/** nats-server as built by test/env/build-tools.sh (the env's binDir first). */
export function natsServerBinary(): string {
  const candidates: string[] = [];
  try {
    const bin = readTestEnv().binDir;
    if (bin) candidates.push(join(bin, "nats-server"));
  } catch {
    // no env file: fall back to the tools cache
  }
  const tools = process.env.STYLEKUBE_TOOLS_DIR ?? join(homedir(), ".cache/stylekube/tools");
  if (existsSync(tools)) {
    for (const d of readdirSync(tools)
      .filter((d) => d.startsWith("nats-server-"))
      .sort()
      .reverse()) {
      candidates.push(join(tools, d, "bin/nats-server"));
    }
  }
  const found = candidates.find((c) => existsSync(c));
  if (!found)
    throw new Error(
      `nats-server not found (looked in ${candidates.join(", ") || tools}); run test/env/build-tools.sh nats`,
    );
  return found;
}

export interface PrivateNats {
  url: string;
  port: number;
  /** SIGTERM: the server closes its connections cleanly. */
  stop(): Promise<void>;
  /** SIGKILL: the kernel resets the connections, whatever was in flight is lost. */
  kill(): Promise<void>;
}

/**
 * Starts a throwaway nats-server on loopback with extra args: on a free port,
 * or on `port` (the same address again after a kill, as a restarted pod
 * behind a Service would be).
 */
export async function startNatsServer(args: string[] = [], port?: number): Promise<PrivateNats> {
  port ??= (await freePorts(1))[0]!;
  const proc = spawn(natsServerBinary(), ["-a", LOOPBACK, "-p", String(port), ...args], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let log = "";
  proc.stderr.setEncoding("utf8");
  const ready = new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`nats-server did not start:\n${log}`)), 10_000);
    proc.stderr.on("data", (s: string) => {
      log += s;
      if (log.includes("Server is ready")) {
        clearTimeout(timer);
        res();
      }
    });
    proc.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`nats-server exited with ${code}:\n${log}`));
    });
  });
  await ready;
  const signal = (sig: NodeJS.Signals) =>
    new Promise<void>((res) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return res();
      proc.once("exit", () => res());
      proc.kill(sig);
    });
  return {
    url: `nats://${LOOPBACK}:${port}`,
    port,
    stop: () => signal("SIGTERM"),
    kill: () => signal("SIGKILL"),
  };
}

/** What test/integration/collectives/worker.ts is told to do. */
export interface WorkerConfig {
  nats: NatsOptions;
  jobId: string;
  attempt: number;
  rank: number;
  worldSize: number;
  mode: "allreduce" | "broadcast";
  length: number;
  steps: number;
  seed: number;
  stepTimeoutMs: number;
  rendezvousTimeoutMs: number;
  /** Pause between steps, so a test can kill a worker "mid-run". */
  stepDelayMs?: number;
  maxChunkBytes?: number;
  root?: number;
  /** Where to write each result (r<rank>-s<step>.bin). */
  outDir?: string;
}

export type WorkerReport =
  | { type: "joined"; rank: number; chunkElements: number }
  | { type: "step"; rank: number; step: number; ms: number }
  | { type: "error"; rank: number; name: string; message: string; missingRanks: number[]; at: number }
  | { type: "done"; rank: number; stats: CollectiveStats };

export interface WorkerHandle {
  proc: ChildProcess;
  rank: number;
  reports: WorkerReport[];
  /** Resolves with the first report matching `pred`. */
  waitFor<T extends WorkerReport>(pred: (r: WorkerReport) => r is T, timeoutMs?: number): Promise<T>;
  /** Resolves with the exit code (or signal). */
  exited: Promise<number | string>;
}

const WORKER = resolve(import.meta.dirname, "worker.ts");

export function startWorker(config: WorkerConfig): WorkerHandle {
  const proc = fork(WORKER, [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, COLLECTIVE_WORKER_CONFIG: JSON.stringify(config) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const reports: WorkerReport[] = [];
  const waiters: (() => void)[] = [];
  proc.on("message", (m) => {
    reports.push(m as WorkerReport);
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | string>((res) => {
    proc.once("exit", (code, signal) => {
      res(code ?? signal ?? "unknown");
      for (const w of waiters.splice(0)) w();
    });
  });
  return {
    proc,
    rank: config.rank,
    reports,
    exited,
    waitFor<T extends WorkerReport>(pred: (r: WorkerReport) => r is T, timeoutMs = 60_000): Promise<T> {
      return new Promise<T>((res, rej) => {
        const timer = setTimeout(
          () =>
            rej(
              new Error(
                `rank ${config.rank}: no matching report in ${timeoutMs} ms; got ${JSON.stringify(reports)}`,
              ),
            ),
          timeoutMs,
        );
        const check = (): void => {
          const hit = reports.find(pred);
          if (hit) {
            clearTimeout(timer);
            res(hit);
          } else if (proc.exitCode !== null || proc.signalCode !== null) {
            clearTimeout(timer);
            rej(
              new Error(
                `rank ${config.rank} exited (${proc.exitCode ?? proc.signalCode}) without it; got ${JSON.stringify(reports)}`,
              ),
            );
          } else {
            waiters.push(check);
          }
        };
        check();
      });
    },
  };
}

export const isError = (r: WorkerReport): r is Extract<WorkerReport, { type: "error" }> => r.type === "error";
export const isDone = (r: WorkerReport): r is Extract<WorkerReport, { type: "done" }> => r.type === "done";
export const isJoined = (r: WorkerReport): r is Extract<WorkerReport, { type: "joined" }> =>
  r.type === "joined";
export const isStep =
  (min: number) =>
  (r: WorkerReport): r is Extract<WorkerReport, { type: "step" }> =>
    r.type === "step" && r.step >= min;

/** Kills whatever is still running (test cleanup). */
export async function stopAll(workers: WorkerHandle[]): Promise<void> {
  for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) w.proc.kill("SIGKILL");
  await Promise.all(workers.map((w) => w.exited));
}
