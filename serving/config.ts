// The model server's settings, from environment variables (the StyleServer
// Deployment sets them; see controller/serving/server-resources.ts), parsed
// with zod so a bad value stops the process at start with the variable's name.
import { z } from "zod";
import { SERVING_ENGINES } from "../common/api/fields.js";
import { jsonText } from "../common/json-env.js";
import { StyleMapSchema } from "./style-map.js";

const MB = 1024 * 1024;

const int = (min: number, max = Number.MAX_SAFE_INTEGER) => z.coerce.number().int().min(min).max(max);
const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");

/** STYLEKUBE_STYLES: a JSON object {styleName: modelURI}. */
const StylesEnvSchema = jsonText.pipe(StyleMapSchema);

export const ServerConfigSchema = z
  .object({
    STYLEKUBE_HTTP_PORT: int(0, 65535).default(8080),
    STYLEKUBE_HTTP_HOST: z.string().min(1).default("0.0.0.0"),
    STYLEKUBE_ENGINE: z.enum(SERVING_ENGINES).default("auto"),
    /** ONNX Runtime execution providers to try, in order, for engine onnxruntime (cpu, webgpu, cuda). */
    STYLEKUBE_ONNX_PROVIDERS: z
      .string()
      .default("cpu")
      .transform((v) =>
        v
          .split(",")
          .map((p) => p.trim())
          .filter((p) => p !== ""),
      )
      .pipe(z.array(z.enum(["cpu", "webgpu", "cuda"])).min(1)),
    /** ONNX Runtime threads per session (intra-op); 0 lets ONNX Runtime choose (all cores). */
    STYLEKUBE_ONNX_THREADS: int(0, 64).default(0),
    /**
     * Most pixels (after padding) the onnxruntime engine runs at once — its
     * memory grows with them (≈1.4 GiB at 1024²). Above it: 413 for
     * instance-norm models; batch-norm models run in overlapping full-width
     * bands of at most this many pixels (onnx-bands.ts).
     */
    STYLEKUBE_ONNX_MAX_PIXELS: int(64).default(1024 * 1024),
    STYLEKUBE_STYLES: StylesEnvSchema.default({}),
    /** A JSON file of the same shape (e.g. a mounted ConfigMap), re-read when it changes. */
    STYLEKUBE_STYLES_FILE: z.string().min(1).optional(),
    STYLEKUBE_STYLES_FILE_POLL_MS: int(50).default(2000),
    /** Inferences at once. tfjs computes synchronously per thread on cpu/wasm, so one per inference thread. */
    STYLEKUBE_CONCURRENCY: int(1, 64).default(1),
    /** Requests admitted beyond those computing; more get 429. */
    STYLEKUBE_QUEUE_SIZE: int(0, 10_000).default(4),
    /** From the moment a request's whole body has arrived to its answer (queue, decode, inference, encode); 503 after it. */
    STYLEKUBE_REQUEST_TIMEOUT_MS: int(100).default(60_000),
    STYLEKUBE_MAX_BODY_BYTES: int(1024).default(20 * MB),
    /**
     * Request bodies being received (and held until their request is done), all
     * requests together: each reserves its Content-Length (or
     * STYLEKUBE_MAX_BODY_BYTES when it has none or is compressed) before its
     * first byte is read; a request that does not fit gets 429. This, not the
     * inference tickets, bounds what uploads in progress cost.
     */
    STYLEKUBE_MAX_INFLIGHT_BODY_BYTES: int(1024).default(64 * MB),
    /** A request's headers must arrive within this (408 and the connection closed). */
    STYLEKUBE_HEADERS_TIMEOUT_MS: int(1000, 600_000).default(10_000),
    /** A request's body must arrive within this once its headers have (408, connection closed); 0: no limit. */
    STYLEKUBE_BODY_TIMEOUT_MS: int(0, 3_600_000)
      .refine((v) => v === 0 || v >= 1000, "must be 0 (no limit) or at least 1000 ms")
      .default(120_000),
    /**
     * The slowest upload kept: a body arriving at fewer bytes per second than
     * this, averaged over each STYLEKUBE_MIN_UPLOAD_WINDOW_MS, is cut off (408,
     * connection closed), so slow clients cannot hold the upload budget; 0: no minimum.
     */
    STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND: int(0).default(8 * 1024),
    STYLEKUBE_MIN_UPLOAD_WINDOW_MS: int(1000, 600_000).default(10_000),
    /** Decoded pixel count limit (checked from the header before decoding: decompression bombs). */
    STYLEKUBE_MAX_PIXELS: int(1).default(40_000_000),
    /** Longest side fed to the network; larger images are downscaled to it (after ?maxSide). */
    STYLEKUBE_MAX_SIDE: int(16).default(2048),
    STYLEKUBE_JPEG_QUALITY: int(1, 100).default(90),
    /**
     * Bearer token for PUT/DELETE /v1/styles/{name}. The admin API is on only
     * when it is set (serving/admin-api.ts); there is no way to run it open.
     */
    STYLEKUBE_ADMIN_TOKEN: z.string().min(1).optional(),
    /** false turns the admin API off even with a token (the operator's pods: styles come from the StyleServer). */
    STYLEKUBE_ADMIN_API: bool.optional(),
    STYLEKUBE_MAX_STYLES: int(1).default(64),
    /** Retry of configured styles whose model cannot be loaded (yet), with backoff up to the max. */
    STYLEKUBE_MODEL_RETRY_MS: int(10).default(1000),
    STYLEKUBE_MODEL_RETRY_MAX_MS: int(10).default(30_000),
    /** Graceful shutdown: how long in-flight requests may take before the process exits anyway. */
    STYLEKUBE_SHUTDOWN_TIMEOUT_MS: int(0).default(30_000),
  })
  .superRefine((c, ctx) => {
    if (c.STYLEKUBE_ADMIN_API === true && c.STYLEKUBE_ADMIN_TOKEN === undefined) {
      ctx.addIssue({
        code: "custom",
        path: ["STYLEKUBE_ADMIN_API"],
        message:
          "true needs STYLEKUBE_ADMIN_TOKEN (a long random secret): the admin API never runs without a token; set the token or leave STYLEKUBE_ADMIN_API unset",
      });
    }
    if (c.STYLEKUBE_MAX_INFLIGHT_BODY_BYTES < c.STYLEKUBE_MAX_BODY_BYTES) {
      ctx.addIssue({
        code: "custom",
        path: ["STYLEKUBE_MAX_INFLIGHT_BODY_BYTES"],
        message: `must be at least STYLEKUBE_MAX_BODY_BYTES (${c.STYLEKUBE_MAX_BODY_BYTES}), or no body of the largest allowed size could ever be received`,
      });
    }
  });
export type ServerConfig = z.infer<typeof ServerConfigSchema>;

export function readServerConfig(env: NodeJS.ProcessEnv = process.env): ServerConfig {
  // An empty variable counts as unset (Helm and Kubernetes often render "").
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const result = ServerConfigSchema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  throw new Error(`invalid server configuration: ${problems}`);
}
