// The worker environment contract: everything a training worker needs, passed
// as environment variables. The operator writes it into worker pods and the
// local runner (`stylekube train --local`) into worker processes — the same
// variables either way, parsed here with zod so a bad value fails at start
// with the variable's name.
import { z } from "zod";
import { StyleTrainingSpecSchema, type StyleTrainingSpec } from "./api/style-training.js";
import { ALL_PROGRESS, progressSubject } from "./nats-subjects.js";

export const WORKER_ENV = {
  jobId: "STYLEKUBE_JOB_ID",
  namespace: "STYLEKUBE_NAMESPACE",
  name: "STYLEKUBE_TRAINING",
  attempt: "STYLEKUBE_ATTEMPT",
  rank: "STYLEKUBE_RANK",
  worldSize: "STYLEKUBE_WORLD_SIZE",
  spec: "STYLEKUBE_SPEC",
  natsUrl: "STYLEKUBE_NATS_URL",
  natsToken: "STYLEKUBE_NATS_TOKEN",
  natsUser: "STYLEKUBE_NATS_USER",
  natsPassword: "STYLEKUBE_NATS_PASSWORD",
  natsCredsFile: "STYLEKUBE_NATS_CREDS_FILE",
  s3Endpoint: "STYLEKUBE_S3_ENDPOINT",
  s3ForcePathStyle: "STYLEKUBE_S3_FORCE_PATH_STYLE",
  region: "AWS_REGION",
  accessKeyId: "AWS_ACCESS_KEY_ID",
  secretAccessKey: "AWS_SECRET_ACCESS_KEY",
  wasmThreads: "STYLEKUBE_WASM_THREADS",
  /** Where the worker writes why it stopped (common/worker-exit.ts); unset: nowhere. */
  terminationMessagePath: "STYLEKUBE_TERMINATION_MESSAGE_PATH",
} as const;

/** Emscripten's pthread pool in tfjs-backend-wasm 4.22 starts 8 workers. */
export const WASM_MAX_THREADS = 8;

/**
 * Threads of the wasm engine for a worker with `cores` CPUs of its own: its
 * whole cores, from 1 to WASM_MAX_THREADS. Threads change no result (the
 * threaded build is bit-identical) and cut a 128² step 1.3× on 2 cores and
 * 3× with 8 threads on 16 (docs/benchmarks.md).
 */
export function wasmThreadsFor(cores: number): number {
  if (!Number.isFinite(cores)) return 1;
  return Math.max(1, Math.min(WASM_MAX_THREADS, Math.floor(cores)));
}

const intFromEnv = (min: number) => z.coerce.number().int().min(min);

export const WorkerEnvSchema = z
  .object({
    jobId: z
      .string()
      .min(1)
      .describe("Unique id of the training (the StyleTraining's uid, or a local run id)."),
    namespace: z.string().min(1),
    name: z.string().min(1),
    attempt: intFromEnv(1),
    rank: intFromEnv(0),
    worldSize: intFromEnv(1),
    spec: z
      .string()
      .transform((s, ctx) => {
        try {
          return JSON.parse(s) as unknown;
        } catch {
          ctx.addIssue({ code: "custom", message: "must be JSON" });
          return z.NEVER;
        }
      })
      .pipe(StyleTrainingSpecSchema),
    natsUrl: z.string().min(1),
    natsToken: z.string().optional(),
    natsUser: z.string().optional(),
    natsPassword: z.string().optional(),
    natsCredsFile: z.string().optional(),
    s3Endpoint: z.string().optional(),
    s3ForcePathStyle: z
      .enum(["true", "false"])
      .optional()
      .transform((v) => (v === undefined ? undefined : v === "true")),
    region: z.string().optional(),
    accessKeyId: z.string().optional(),
    secretAccessKey: z.string().optional(),
    // More than the pool holds is not an error: it is capped, as wasmThreadsFor does.
    wasmThreads: intFromEnv(1)
      .transform((n) => Math.min(n, WASM_MAX_THREADS))
      .optional(),
    terminationMessagePath: z.string().min(1).optional(),
  })
  .refine((e) => e.rank < e.worldSize, { message: "rank must be less than world size", path: ["rank"] });

export type WorkerEnv = z.infer<typeof WorkerEnvSchema>;

export interface WorkerEnvInput {
  jobId: string;
  namespace: string;
  name: string;
  attempt: number;
  rank: number;
  worldSize: number;
  spec: StyleTrainingSpec;
  natsUrl: string;
  s3Endpoint?: string;
  s3ForcePathStyle?: boolean;
  region?: string;
  /** Threads of the wasm engine (see wasmThreadsFor); unset = 1. */
  wasmThreads?: number;
  /** Where the worker writes why it stopped (common/worker-exit.ts). */
  terminationMessagePath?: string;
}

/** Plain (non-secret) variables; credentials come from Secrets (pods) or the parent's env (local). */
export function workerEnvVars(input: WorkerEnvInput): Record<string, string> {
  const vars: Record<string, string> = {
    [WORKER_ENV.jobId]: input.jobId,
    [WORKER_ENV.namespace]: input.namespace,
    [WORKER_ENV.name]: input.name,
    [WORKER_ENV.attempt]: String(input.attempt),
    [WORKER_ENV.rank]: String(input.rank),
    [WORKER_ENV.worldSize]: String(input.worldSize),
    [WORKER_ENV.spec]: JSON.stringify(input.spec),
    [WORKER_ENV.natsUrl]: input.natsUrl,
  };
  if (input.s3Endpoint) vars[WORKER_ENV.s3Endpoint] = input.s3Endpoint;
  if (input.s3ForcePathStyle !== undefined)
    vars[WORKER_ENV.s3ForcePathStyle] = String(input.s3ForcePathStyle);
  if (input.region) vars[WORKER_ENV.region] = input.region;
  if (input.wasmThreads !== undefined) vars[WORKER_ENV.wasmThreads] = String(input.wasmThreads);
  if (input.terminationMessagePath) vars[WORKER_ENV.terminationMessagePath] = input.terminationMessagePath;
  return vars;
}

/** Parse the contract from an environment; errors name the variable. */
export function readWorkerEnv(env: NodeJS.ProcessEnv = process.env): WorkerEnv {
  const raw = Object.fromEntries(Object.entries(WORKER_ENV).map(([key, name]) => [key, env[name]]));
  const result = WorkerEnvSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => {
    const key = i.path[0] as keyof typeof WORKER_ENV | undefined;
    const name = key ? WORKER_ENV[key] : "environment";
    const rest = i.path.slice(1).join(".");
    return `${name}${rest ? ` (${rest})` : ""}: ${i.message}`;
  });
  throw new Error(`invalid worker environment: ${problems.join("; ")}`);
}

/** NATS subjects of one training; progress is what the operator folds into status. */
export const subjects = {
  progress: progressSubject,
  allProgress: ALL_PROGRESS,
};
