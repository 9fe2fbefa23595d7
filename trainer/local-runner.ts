// `stylekube train -f spec.yaml --local`: the same StyleTraining on one
// machine. Starts N worker processes with exactly the environment contract a
// pod gets, follows their progress on NATS, and applies the operator's gang
// semantics: when a worker fails, the others are stopped and a new attempt
// starts from the latest checkpoint, up to spec.backoffLimit — unless it
// exited with PERMANENT_FAILURE_EXIT_CODE (a missing input, say), which ends
// the run at once with the worker's termination message, as on the cluster.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { availableParallelism, tmpdir } from "node:os";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { connect } from "nats";
import { parseAllDocuments } from "yaml";
import { validateStyleTraining, type StyleTraining } from "../common/api/index.js";
import { createLogger } from "../common/log/logger.js";
import { ProgressMessageSchema } from "../common/progress.js";
import { subjects, WORKER_ENV, wasmThreadsFor, workerEnvVars } from "../common/worker-env.js";
import { PERMANENT_FAILURE_EXIT_CODE, readTerminationMessage } from "../common/worker-exit.js";

export interface LocalRunOptions {
  file: string;
  natsUrl?: string;
  /** Override spec.workers. */
  workers?: number;
  /** Where the test environment's env.json is, for NATS/S3 defaults. */
  envFile?: string;
  /** Extra environment for the workers (tests: timeouts). */
  extraEnv?: Record<string, string>;
  /** Called for every progress message (tests, progress bar). */
  onProgress?: (line: string) => void;
  /** After one worker fails, how long the others get to fail by themselves before being stopped. */
  gangGraceMs?: number;
  /** Called with each attempt's worker processes once started (tests kill one). */
  onAttempt?: (attempt: number, workers: ChildProcess[]) => void;
}

export interface LocalRunResult {
  ok: boolean;
  attempts: number;
  modelURI?: string;
  error?: string;
  /** The run stopped on a permanent error (no retry could help); `error` names the field and URI. */
  permanent?: boolean;
}

const log = createLogger("train-local");

export function readTrainingFile(file: string): StyleTraining {
  const docs = parseAllDocuments(readFileSync(file, "utf8")).map((d) => d.toJSON() as unknown);
  const obj = docs.find((d) => (d as { kind?: string } | null)?.kind === "StyleTraining");
  if (!obj) throw new Error(`${file}: no StyleTraining in it`);
  const result = validateStyleTraining(obj);
  if (!result.ok) throw new Error(`${file}: ${result.message}`);
  return result.value;
}

interface EnvDefaults {
  natsUrl?: string;
  storage: Record<string, string>;
}

function environmentDefaults(envFile: string | undefined): EnvDefaults {
  const file = envFile ?? resolve(".stylekube/env.json");
  if (!existsSync(file)) return { storage: {} };
  const env = JSON.parse(readFileSync(file, "utf8")) as {
    natsUrl?: string;
    s3?: {
      endpoint: string;
      region: string;
      accessKeyId: string;
      secretAccessKey: string;
      forcePathStyle?: boolean;
    };
  };
  const storage: Record<string, string> = {};
  if (env.s3) {
    storage.STYLEKUBE_S3_ENDPOINT = env.s3.endpoint;
    storage.STYLEKUBE_S3_REGION = env.s3.region;
    storage.STYLEKUBE_S3_ACCESS_KEY_ID = env.s3.accessKeyId;
    storage.STYLEKUBE_S3_SECRET_ACCESS_KEY = env.s3.secretAccessKey;
    storage.STYLEKUBE_S3_FORCE_PATH_STYLE = String(env.s3.forcePathStyle ?? true);
  }
  return { ...(env.natsUrl ? { natsUrl: env.natsUrl } : {}), storage };
}

function exitOf(child: ChildProcess): Promise<number> {
  return new Promise((res) => {
    if (child.exitCode !== null) return res(child.exitCode);
    child.once("exit", (code, signal) => res(code ?? (signal ? 128 : 1)));
  });
}

function progressBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
}

function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * The stylekube CLI in worker mode: the compiled JS next to this module in
 * production, the TypeScript source under tsx in development.
 */
function workerCommand(): string[] {
  const fromSource = import.meta.url.endsWith(".ts");
  const cli = fileURLToPath(new URL(`../cli/main.${fromSource ? "ts" : "js"}`, import.meta.url));
  return fromSource ? ["--import", "tsx", cli, "worker"] : [cli, "worker"];
}

/** The first worker that exited with PERMANENT_FAILURE_EXIT_CODE, in the words it left, or undefined. */
export function permanentFailureMessage(
  codes: readonly number[],
  terminationMessage: (rank: number) => string | undefined,
): string | undefined {
  const rank = codes.indexOf(PERMANENT_FAILURE_EXIT_CODE);
  if (rank < 0) return undefined;
  const why = terminationMessage(rank) ?? "it left no termination message; see its log above";
  return `worker ${rank} failed with a permanent error (exit code ${PERMANENT_FAILURE_EXIT_CODE}): ${why}; not retried (backoffLimit is for transient failures)`;
}

export async function runLocal(options: LocalRunOptions): Promise<LocalRunResult> {
  const training = readTrainingFile(options.file);
  const spec = { ...training.spec, workers: options.workers ?? training.spec.workers };
  const defaults = environmentDefaults(options.envFile);
  const natsUrl = options.natsUrl ?? defaults.natsUrl;
  if (!natsUrl) {
    throw new Error(
      "no NATS server: pass --nats nats://host:4222, or start the local environment with `npm run env:up`",
    );
  }
  const name = training.metadata.name ?? "local";
  const namespace = "local";
  const jobId = `local-${name}-${randomBytes(4).toString("hex")}`;
  const nc = await connect({ servers: natsUrl });
  const sub = nc.subscribe(subjects.progress(namespace, name));
  void (async () => {
    for await (const m of sub) {
      const parsed = ProgressMessageSchema.safeParse(JSON.parse(new TextDecoder().decode(m.data)));
      if (!parsed.success || parsed.data.rank !== 0) continue;
      const p = parsed.data;
      const pct = ((p.step / p.totalSteps) * 100).toFixed(1);
      // Workers step in lockstep, so rank 0's rate times the world size is the job's.
      const imagesPerSecond = p.imagesPerSecond * spec.workers;
      const hp = spec.hyperparameters;
      const globalBatch = hp.batchSize * spec.workers;
      const eta = imagesPerSecond > 0 ? ((p.totalSteps - p.step) * globalBatch) / imagesPerSecond : undefined;
      options.onProgress?.(
        `attempt ${p.attempt} step ${p.step}/${p.totalSteps} (${pct}%) ${progressBar(p.step / p.totalSteps)} ` +
          // The terms as they add up to the total: λ·ℓ (the raw ℓTV of an image is ~1e6–1e7).
          `loss ${p.loss.total.toPrecision(4)} = content ${(hp.contentWeight * p.loss.content).toPrecision(3)} ` +
          `+ style ${(hp.styleWeight * p.loss.style).toPrecision(3)} + tv ${(hp.tvWeight * p.loss.tv).toPrecision(3)} ` +
          `${imagesPerSecond.toFixed(1)} img/s ETA ${eta === undefined ? "?" : formatDuration(eta)}` +
          `${p.checkpoint ? ` checkpoint ${p.checkpoint.uri}` : ""}`,
      );
    }
  })();

  const self = workerCommand();
  // Each worker's termination message file, as a pod has /dev/termination-log.
  const messages = mkdtempSync(join(tmpdir(), "stylekube-train-"));
  const messageFile = (attempt: number, rank: number) => join(messages, `a${attempt}-w${rank}`);
  try {
    for (let attempt = 1, failures = 0; ; attempt++) {
      const workers: ChildProcess[] = [];
      for (let rank = 0; rank < spec.workers; rank++) {
        const vars = workerEnvVars({
          jobId,
          namespace,
          name,
          attempt,
          rank,
          worldSize: spec.workers,
          spec,
          natsUrl,
          terminationMessagePath: messageFile(attempt, rank),
          // The machine's cores shared between the workers, unless the caller chose.
          ...(process.env[WORKER_ENV.wasmThreads] === undefined
            ? { wasmThreads: wasmThreadsFor(availableParallelism() / spec.workers) }
            : {}),
        });
        workers.push(
          spawn(process.execPath, self, {
            env: { ...process.env, ...defaults.storage, ...vars, ...options.extraEnv },
            stdio: ["ignore", "inherit", "inherit"],
          }),
        );
      }
      options.onAttempt?.(attempt, workers);
      log.info({ attempt, workers: spec.workers, jobId }, "attempt started");
      const codes = await new Promise<number[]>((res) => {
        const results: (number | undefined)[] = workers.map(() => undefined);
        let stopTimer: NodeJS.Timeout | undefined;
        workers.forEach((w, i) => {
          void exitOf(w).then((code) => {
            results[i] = code;
            // Gang semantics: one failed worker ends the attempt for all. The
            // survivors notice within their step deadline and exit with an
            // error naming the lost rank; whoever still runs after a grace
            // period is stopped — at once after a permanent error, which
            // ends the run.
            if (code !== 0 && stopTimer === undefined) {
              log.warn({ attempt, rank: i, code }, "worker failed; the attempt ends");
              const grace = code === PERMANENT_FAILURE_EXIT_CODE ? 0 : (options.gangGraceMs ?? 60_000);
              stopTimer = setTimeout(() => {
                for (const other of workers) if (other.exitCode === null) other.kill("SIGTERM");
              }, grace);
            }
            if (results.every((r) => r !== undefined)) {
              clearTimeout(stopTimer);
              res(results as number[]);
            }
          });
        });
      });
      if (codes.every((c) => c === 0)) {
        return { ok: true, attempts: attempt, modelURI: `${spec.output.replace(/\/?$/, "/")}model/` };
      }
      const permanent = permanentFailureMessage(codes, (rank) =>
        readTerminationMessage(messageFile(attempt, rank)),
      );
      if (permanent !== undefined) {
        log.error({ attempt }, permanent);
        return { ok: false, attempts: attempt, permanent: true, error: permanent };
      }
      failures++;
      const failed = codes
        .map((c, rank) => ({ c, rank }))
        .filter((x) => x.c !== 0)
        .map((x) => `worker ${x.rank} exited ${x.c}`);
      log.warn({ attempt, failed }, "attempt failed");
      if (failures > spec.backoffLimit) {
        return {
          ok: false,
          attempts: attempt,
          error: `${failed.join(", ")}; ${failures} failed attempts exceed backoffLimit ${spec.backoffLimit}`,
        };
      }
    }
  } finally {
    sub.unsubscribe();
    await nc.drain().catch(() => undefined);
    rmSync(messages, { recursive: true, force: true });
  }
}
