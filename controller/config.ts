// The operator's settings, from environment variables (the Helm chart sets
// them), parsed with zod so a bad value stops the process with its name.
import { z } from "zod";
import { jsonText } from "../common/json-env.js";
import { ServerClientLimitsSchema } from "../common/server-client-limits.js";

const bool = z.enum(["true", "false"]).transform((v) => v === "true");

/** A numeric id for pods' securityContext, 65532 when unset; "" omits it (OpenShift assigns its own). */
const podId = z
  .string()
  .regex(/^(\d+)?$/, "must be a number, or empty to leave it to the cluster")
  .default("65532")
  .transform((v) => (v === "" ? undefined : Number(v)));

export const ControllerConfigSchema = z.object({
  /** Namespace to watch; empty watches all namespaces. */
  STYLEKUBE_WATCH_NAMESPACE: z.string().default(""),
  /** Where the leader-election Lease lives: the operator's own namespace. */
  POD_NAMESPACE: z.string().default("stylekube-system"),
  POD_NAME: z.string().optional(),
  STYLEKUBE_LEASE_NAME: z.string().default("stylekube-controller"),
  STYLEKUBE_LEADER_ELECT: bool.default(true),
  /** client-go's defaults: a standby takes over at most this long after the leader vanishes. */
  STYLEKUBE_LEASE_DURATION_SECONDS: z.coerce.number().int().min(1).default(15),
  STYLEKUBE_RENEW_DEADLINE_MS: z.coerce.number().int().min(100).default(10_000),
  STYLEKUBE_RETRY_PERIOD_MS: z.coerce.number().int().min(50).default(2_000),
  STYLEKUBE_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  STYLEKUBE_HTTP_HOST: z.string().default("0.0.0.0"),
  STYLEKUBE_TRAINER_IMAGE: z.string().default("stylekube/trainer:0.1.0"),
  STYLEKUBE_SERVER_IMAGE: z.string().default("stylekube/server:0.1.0"),
  /**
   * The CUDA variants (ONNX Runtime's CUDA provider and the CUDA libraries,
   * `npm run images -- --gpu`), for pods that ask for NVIDIA GPUs and name
   * no image of their own.
   */
  STYLEKUBE_TRAINER_CUDA_IMAGE: z.string().default("stylekube/trainer:0.1.0-cuda"),
  STYLEKUBE_SERVER_CUDA_IMAGE: z.string().default("stylekube/server:0.1.0-cuda"),
  /**
   * runtimeClassName of pods with NVIDIA GPUs, for clusters where the NVIDIA
   * container runtime is a runtime class (often "nvidia") rather than the
   * nodes' default; empty: none.
   */
  STYLEKUBE_GPU_RUNTIME_CLASS: z.string().default(""),
  STYLEKUBE_WORKER_SERVICE_ACCOUNT: z.string().default("stylekube-worker"),
  /**
   * VGG-16 weights for StyleTrainings that name none (and are not random):
   * typically the file `stylekube weights pull vgg16 --to s3://…` uploaded.
   * Unset: such trainings fail at start with where to get weights.
   */
  STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS: z
    .string()
    .regex(/^(s3|file|https?):\/\/\S+$/, "must be an s3://, file:// or http(s):// URI")
    .optional()
    .or(z.literal("").transform(() => undefined)),
  /** NATS for progress (the operator) and gradients (the workers). */
  STYLEKUBE_NATS_URL: z.string().default("nats://nats:4222"),
  /** Secret (in each training's namespace) with NATS credentials for workers: token or user/password. */
  STYLEKUBE_NATS_SECRET: z.string().optional(),
  STYLEKUBE_NATS_TOKEN: z.string().optional(),
  STYLEKUBE_NATS_USER: z.string().optional(),
  STYLEKUBE_NATS_PASSWORD: z.string().optional(),
  /** The operator's own NATS credentials (a .creds file), for servers using JWT auth. */
  STYLEKUBE_NATS_CREDS_FILE: z.string().optional(),
  /**
   * Seed of the NATS account (or an account signing key) under which the
   * operator mints per-job credentials; from a Secret. Unset: workers get
   * STYLEKUBE_NATS_SECRET's shared credentials instead.
   */
  STYLEKUBE_NATS_ACCOUNT_SEED: z.string().optional(),
  STYLEKUBE_NATS_CREDS_TTL_SECONDS: z.coerce
    .number()
    .int()
    .min(60)
    .default(30 * 24 * 3600),
  /** Defaults for pods' S3 access, overridable per object with spec.storage. */
  STYLEKUBE_S3_ENDPOINT: z.string().optional(),
  STYLEKUBE_S3_REGION: z.string().default("us-east-1"),
  STYLEKUBE_S3_FORCE_PATH_STYLE: bool.optional(),
  STYLEKUBE_STORAGE_SECRET: z.string().optional(),
  /** Progress is written to status at most this often per training. */
  STYLEKUBE_STATUS_INTERVAL_MS: z.coerce.number().int().min(100).default(5000),
  STYLEKUBE_RESYNC_SECONDS: z.coerce.number().int().min(0).default(600),
  /**
   * Where the operator reads a ready server pod's metadata (GET /v2, with the
   * engine it chose) for StyleServer.status.engine: {podIP}, {port},
   * {namespace} and {pod} are filled in. The default asks the pod directly;
   * through the apiserver's proxy it would be
   * https://<apiserver>/api/v1/namespaces/{namespace}/pods/{pod}:{port}/proxy/v2.
   */
  STYLEKUBE_SERVER_METADATA_URL: z
    .string()
    .regex(/^https?:\/\/\S+$/, "must be an http(s):// URL template, e.g. http://{podIP}:{port}/v2")
    .default("http://{podIP}:{port}/v2"),
  /**
   * The identity of worker and server pods (the chart's securityContext
   * values). Above 10000 so it matches no user of the node; empty omits the
   * field, for OpenShift's restricted SCC, which picks each namespace's UID.
   */
  STYLEKUBE_RUN_AS_USER: podId,
  STYLEKUBE_RUN_AS_GROUP: podId,
  STYLEKUBE_FS_GROUP: podId,
  /**
   * The model server's limits on slow clients for every StyleServer pod
   * (JSON, keys of common/server-client-limits.ts; the chart's
   * server.clientLimits). Keys left out keep the server's defaults.
   */
  STYLEKUBE_SERVER_CLIENT_LIMITS: jsonText.pipe(ServerClientLimitsSchema).default({}),
  /** Objects of one kind reconciled at once (never the same object twice at once). */
  STYLEKUBE_RECONCILE_WORKERS: z.coerce.number().int().min(1).max(64).default(4),
});
export type ControllerConfig = z.infer<typeof ControllerConfigSchema>;

export function readControllerConfig(env: NodeJS.ProcessEnv = process.env): ControllerConfig {
  const result = ControllerConfigSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new Error(`invalid controller configuration: ${problems}`);
}
