// Entry point: `openStore()` gives one ObjectStore that serves s3:// and
// file:// URIs alike, configured from the environment unless told otherwise.
//
// Environment (all optional; an empty value counts as unset):
//   STYLEKUBE_S3_ENDPOINT            S3-compatible endpoint URL (MinIO: http://minio:9000). Unset: AWS.
//   STYLEKUBE_S3_REGION              region; else AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
//   STYLEKUBE_S3_FORCE_PATH_STYLE    true|false; default true when an endpoint is set
//   STYLEKUBE_S3_ACCESS_KEY_ID       explicit keys (both or neither). When unset the SDK's
//   STYLEKUBE_S3_SECRET_ACCESS_KEY   default chain is used: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/
//   STYLEKUBE_S3_SESSION_TOKEN       AWS_SESSION_TOKEN, AWS_PROFILE (~/.aws), SSO, IRSA
//                                    (AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE), ECS, EC2 IMDS.
//   STYLEKUBE_S3_MAX_ATTEMPTS        tries per request incl. the first; else AWS_MAX_ATTEMPTS, else 5
//   STYLEKUBE_S3_RETRY_MODE          standard|adaptive; else AWS_RETRY_MODE, else standard
//   STYLEKUBE_S3_PART_SIZE_MIB       multipart part size in MiB (>= 5; default 8)
//   STYLEKUBE_S3_UPLOAD_CONCURRENCY  parts in flight per upload (default 4)
//   STYLEKUBE_FILE_DURABLE           false: skip fsync on file:// puts (scratch data only)
import type { Readable } from "node:stream";
import { z } from "zod";
import { createLogger, type Logger } from "../log/logger.js";
import { FileStore, type FileStoreOptions } from "./file.js";
import { S3Store, type S3Options } from "./s3.js";
import {
  StorageError,
  type Body,
  type GetOptions,
  type ListEntry,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from "./storage.js";
import { parseUri, SCHEMES, type Scheme } from "./uri.js";

export * from "./storage.js";
export * from "./uri.js";
export * from "./manifest.js";
export { FileStore, TEMP_SUFFIX, type FileStoreOptions } from "./file.js";
export {
  S3Store,
  S3OptionsSchema,
  MIN_PART_SIZE,
  safeEndpoint,
  type S3Options,
  type S3StoreOptions,
} from "./s3.js";

export interface StoreOptions {
  s3?: S3Options;
  file?: FileStoreOptions;
  logger?: Logger;
}

const bool = z.enum(["true", "false", "1", "0"]).transform((v) => v === "true" || v === "1");
const int = z.string().regex(/^\d+$/, "must be a whole number").transform(Number);

const EnvSchema = z.object({
  STYLEKUBE_S3_ENDPOINT: z
    .url({ protocol: /^https?$/, error: "must be an http:// or https:// URL" })
    .optional(),
  STYLEKUBE_S3_REGION: z.string().optional(),
  AWS_REGION: z.string().optional(),
  AWS_DEFAULT_REGION: z.string().optional(),
  STYLEKUBE_S3_FORCE_PATH_STYLE: bool.optional(),
  STYLEKUBE_S3_ACCESS_KEY_ID: z.string().optional(),
  STYLEKUBE_S3_SECRET_ACCESS_KEY: z.string().optional(),
  STYLEKUBE_S3_SESSION_TOKEN: z.string().optional(),
  STYLEKUBE_S3_MAX_ATTEMPTS: int.optional(),
  AWS_MAX_ATTEMPTS: int.optional(),
  STYLEKUBE_S3_RETRY_MODE: z.enum(["standard", "adaptive"]).optional(),
  AWS_RETRY_MODE: z.enum(["standard", "adaptive", "legacy"]).optional(),
  STYLEKUBE_S3_PART_SIZE_MIB: int.optional(),
  STYLEKUBE_S3_UPLOAD_CONCURRENCY: int.optional(),
  STYLEKUBE_FILE_DURABLE: bool.optional(),
});

/** Storage options from environment variables (see the top of this file). Errors name the variable, never its value. */
export function storeOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): StoreOptions {
  const present = Object.fromEntries(
    Object.keys(EnvSchema.shape)
      .map((k) => [k, env[k]] as const)
      .filter(([, v]) => v !== undefined && v !== ""),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    const msg = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new StorageError(`invalid storage environment: ${msg}`, { op: "open", uri: "" });
  }
  const e = parsed.data;
  const s3: S3Options = {
    region: e.STYLEKUBE_S3_REGION ?? e.AWS_REGION ?? e.AWS_DEFAULT_REGION ?? "us-east-1",
  };
  if (e.STYLEKUBE_S3_ENDPOINT !== undefined) s3.endpoint = e.STYLEKUBE_S3_ENDPOINT;
  if (e.STYLEKUBE_S3_FORCE_PATH_STYLE !== undefined) s3.forcePathStyle = e.STYLEKUBE_S3_FORCE_PATH_STYLE;
  if (e.STYLEKUBE_S3_ACCESS_KEY_ID !== undefined) s3.accessKeyId = e.STYLEKUBE_S3_ACCESS_KEY_ID;
  if (e.STYLEKUBE_S3_SECRET_ACCESS_KEY !== undefined) s3.secretAccessKey = e.STYLEKUBE_S3_SECRET_ACCESS_KEY;
  if (e.STYLEKUBE_S3_SESSION_TOKEN !== undefined) s3.sessionToken = e.STYLEKUBE_S3_SESSION_TOKEN;
  const attempts = e.STYLEKUBE_S3_MAX_ATTEMPTS ?? e.AWS_MAX_ATTEMPTS;
  if (attempts !== undefined) s3.maxAttempts = attempts;
  // "legacy" is an SDK v2 mode; v3 treats it as standard.
  const mode = e.STYLEKUBE_S3_RETRY_MODE ?? (e.AWS_RETRY_MODE === "adaptive" ? "adaptive" : undefined);
  if (mode !== undefined) s3.retryMode = mode;
  if (e.STYLEKUBE_S3_PART_SIZE_MIB !== undefined) s3.partSize = e.STYLEKUBE_S3_PART_SIZE_MIB * 1024 * 1024;
  if (e.STYLEKUBE_S3_UPLOAD_CONCURRENCY !== undefined)
    s3.uploadConcurrency = e.STYLEKUBE_S3_UPLOAD_CONCURRENCY;
  const file: FileStoreOptions = {};
  if (e.STYLEKUBE_FILE_DURABLE !== undefined) file.durable = e.STYLEKUBE_FILE_DURABLE;
  return { s3, file };
}

/**
 * One store for both schemes, dispatching on each URI. The S3 client is
 * created on first s3:// use, so file-only programs never resolve AWS
 * credentials.
 */
export class RoutingStore implements ObjectStore {
  readonly schemes: readonly Scheme[] = SCHEMES;
  readonly #options: StoreOptions;
  readonly #logger: Logger;
  #file: FileStore | undefined;
  #s3: S3Store | undefined;

  constructor(options: StoreOptions = {}) {
    this.#options = options;
    this.#logger = options.logger ?? createLogger("storage");
  }

  /** The backend for a scheme (created on first use). */
  backend(scheme: Scheme): ObjectStore {
    if (scheme === "file")
      return (this.#file ??= new FileStore({ logger: this.#logger, ...this.#options.file }));
    return (this.#s3 ??= new S3Store(this.#options.s3 ?? {}, { logger: this.#logger }));
  }

  #for(uri: string): ObjectStore {
    return this.backend(parseUri(uri).scheme);
  }

  toJSON(): Record<string, unknown> {
    // Public fields only: pino's redaction serialises a copy without private fields.
    return { backend: "routing", schemes: this.schemes };
  }

  get(uri: string, options?: GetOptions): Promise<Readable> {
    return this.#for(uri).get(uri, options);
  }
  getBytes(uri: string, options?: GetOptions): Promise<Buffer> {
    return this.#for(uri).getBytes(uri, options);
  }
  put(uri: string, body: Body, options?: PutOptions): Promise<PutResult> {
    return this.#for(uri).put(uri, body, options);
  }
  stat(uri: string): Promise<ObjectInfo> {
    return this.#for(uri).stat(uri);
  }
  exists(uri: string): Promise<boolean> {
    return this.#for(uri).exists(uri);
  }
  list(prefix: string): AsyncIterable<ListEntry> {
    return this.#for(prefix).list(prefix);
  }
  delete(uri: string): Promise<void> {
    return this.#for(uri).delete(uri);
  }
  deletePrefix(prefix: string): Promise<number> {
    return this.#for(prefix).deletePrefix(prefix);
  }
  async close(): Promise<void> {
    await Promise.all([this.#s3?.close(), this.#file?.close()]);
  }
}

/**
 * `openStore()` → a store for both schemes, options from the environment.
 * `openStore(options)` → the same with explicit options.
 * `openStore("s3://bucket/x")` → the concrete backend for that URI's scheme
 * (options from the environment); the URI is validated here, so a bad
 * location fails at startup.
 */
export function openStore(target?: string | StoreOptions, env: NodeJS.ProcessEnv = process.env): ObjectStore {
  if (typeof target === "string") {
    const scheme = parseUri(target).scheme;
    return new RoutingStore(storeOptionsFromEnv(env)).backend(scheme);
  }
  return new RoutingStore(target ?? storeOptionsFromEnv(env));
}
