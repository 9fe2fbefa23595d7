// s3:// backend on AWS SDK v3: AWS S3 or any S3-compatible endpoint (MinIO).
//
// Retries. The SDK's retry middleware already retries throttling and 5xx
// with backoff, so this file configures it rather than wrapping it (checked against
// @smithy/core's retry module shipped with client-s3 3.1175):
//   - throttling (error codes SlowDown, Throttling, RequestLimitExceeded, …,
//     or HTTP 429) and transient errors (HTTP 500/502/503/504, timeouts,
//     ECONNRESET/ECONNREFUSED/EPIPE/ETIMEDOUT) are retried; other 4xx are not;
//   - the delay is exponential with full jitter: random() * min(base * 2^n,
//     20 s), base 50 ms, or 1 s for throttling; a Retry-After hint is honoured;
//   - "adaptive" mode adds a client-side token bucket that slows the whole
//     client down while the server throttles (use it for bulk jobs that hit
//     one prefix hard, e.g. dataset packing).
//   - The SDK does NOT retry a request whose body is a stream (it cannot
//     replay it). So a Readable passed to `put` always goes through
//     lib-storage's Upload, which cuts it into Buffers (one PutObject for small
//     bodies, UploadPart per ≥ 5 MiB part for large ones) that are retryable.
//   - One addition: MinIO under load sometimes answers a PUT with 400
//     IncompleteBody ("you did not provide the number of bytes specified by
//     the Content-Length header"), i.e. the body did not arrive; the SDK
//     classifies that as a client error. For a Buffer body resending is safe,
//     so `withResend` below has the SDK's own strategy treat it as transient.
//   - The SDK retries the request, not the response body: a connection that
//     drops mid-download surfaces on the stream. `getBytes` re-issues the GET
//     for that case (below); `get` leaves it to the caller, who owns the stream.
//
// Secrets. Credentials live only inside the SDK client (a private field);
// logs and StorageError carry op, URI, status, error code and request id —
// never the SDK error object, its request, headers or the client config.
import { AdaptiveRetryStrategy, StandardRetryStrategy } from "@smithy/core/retry";
import type { RetryStrategyV2 } from "@smithy/types";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type BucketLocationConstraint,
  type S3ClientConfig,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { STATUS_CODES } from "node:http";
import { pipeline, Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import { createLogger, type Logger } from "../log/logger.js";
import {
  ByteCounter,
  emptyStream,
  NotFoundError,
  readAll,
  StorageError,
  toBuffer,
  validateRange,
  type Body,
  type GetOptions,
  type ListEntry,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from "./storage.js";
import { formatUri, parseUri, type S3Uri, type Scheme } from "./uri.js";

const MiB = 1024 * 1024;
/** S3's minimum multipart part size (except the last part). */
export const MIN_PART_SIZE = 5 * MiB;

export const S3OptionsSchema = z
  .object({
    /** S3-compatible endpoint, e.g. http://minio:9000. Unset: AWS's regional endpoint. */
    endpoint: z
      .url({ protocol: /^https?$/, error: "endpoint must be an http:// or https:// URL" })
      .optional(),
    region: z.string().min(1).default("us-east-1"),
    /** Path-style URLs (http://host/bucket/key). Default: on when `endpoint` is set (MinIO and most others need it). */
    forcePathStyle: z.boolean().optional(),
    /** Explicit keys. Both unset: the SDK's default chain (env, shared config/profile, SSO, IRSA web identity, ECS, IMDS). */
    accessKeyId: z.string().min(1).optional(),
    secretAccessKey: z.string().min(1).optional(),
    sessionToken: z.string().min(1).optional(),
    /** Total tries per request, the first included. */
    maxAttempts: z.number().int().min(1).max(20).default(5),
    retryMode: z.enum(["standard", "adaptive"]).default("standard"),
    /**
     * Multipart part size; bodies up to this size go in one PutObject. S3
     * allows 10,000 parts, so a stream of unknown length can be at most
     * 10,000 × partSize (≈ 78 GiB at 8 MiB); raise it for bigger objects.
     */
    partSize: z
      .number()
      .int()
      .min(MIN_PART_SIZE)
      .default(8 * MiB),
    /** Parts in flight per upload; memory per upload is about partSize × (this + 1). */
    uploadConcurrency: z.number().int().min(1).max(64).default(4),
    /** Give up connecting after this long (the attempt then counts as a retryable timeout). 0: no limit. */
    connectionTimeoutMs: z.number().int().min(0).default(10_000),
  })
  .refine((o) => (o.accessKeyId === undefined) === (o.secretAccessKey === undefined), {
    message: "set both accessKeyId and secretAccessKey, or neither (to use the default credential chain)",
  });
export type S3Options = z.input<typeof S3OptionsSchema>;
type ResolvedS3Options = z.output<typeof S3OptionsSchema>;

export interface S3StoreOptions {
  logger?: Logger;
  /** Use this client instead of building one (tests, or sharing a client). */
  client?: S3Client;
}

/** Endpoint with any user:password@ removed, for logs. */
export function safeEndpoint(endpoint: string | undefined): string {
  if (endpoint === undefined) return "aws-default";
  try {
    const u = new URL(endpoint);
    u.username = "";
    u.password = "";
    return u.origin + (u.pathname === "/" ? "" : u.pathname);
  } catch {
    return "(unparseable endpoint)";
  }
}

/** The safe parts of an SDK error. Reads fields explicitly; never copies the object. */
interface SdkErrorFields {
  code: string;
  message: string;
  status?: number;
  requestId?: string;
  attempts?: number;
}

function sdkErrorFields(e: unknown): SdkErrorFields {
  if (!(e instanceof Error)) return { code: "Unknown", message: String(e) };
  const meta = (e as { $metadata?: { httpStatusCode?: number; requestId?: string; attempts?: number } })
    .$metadata;
  const errno = (e as NodeJS.ErrnoException).code;
  // A response without a body (HEAD) gets no error code from the SDK; name it
  // after the status instead of "Unknown".
  const status = meta?.httpStatusCode;
  const name =
    (e.name === "Unknown" || e.name === "UnknownError") && status !== undefined
      ? (STATUS_CODES[status] ?? `HTTP${status}`).replace(/\s+/g, "")
      : e.name;
  const fields: SdkErrorFields = {
    code: typeof errno === "string" ? errno : name,
    // The SDK uses "UnknownError" when the response had no body (HEAD).
    message: e.message === "UnknownError" ? "" : e.message,
  };
  if (meta?.httpStatusCode !== undefined) fields.status = meta.httpStatusCode;
  if (meta?.requestId !== undefined) fields.requestId = meta.requestId;
  if (meta?.attempts !== undefined) fields.attempts = meta.attempts;
  return fields;
}

const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** Server or network trouble (worth a warning), as opposed to a caller error or a failing source stream. */
function isServerOrNetwork(f: SdkErrorFields): boolean {
  if (f.status !== undefined) return f.status >= 500 || f.status === 429 || f.code === "SlowDown";
  return NETWORK_CODES.has(f.code) || f.code === "TimeoutError";
}

/** S3 error codes meaning the request body did not reach the server in full. */
const BODY_NOT_RECEIVED = new Set(["IncompleteBody"]);

/** The SDK's retry strategy, also retrying BODY_NOT_RECEIVED errors as transient (see the top of this file). */
function withResend(inner: RetryStrategyV2 & { mode?: string }): RetryStrategyV2 & { mode?: string } {
  return {
    mode: inner.mode,
    acquireInitialRetryToken: (scope) => inner.acquireInitialRetryToken(scope),
    refreshRetryTokenForRetry: (token, info) => {
      const name = (info.error as { name?: string } | undefined)?.name;
      return inner.refreshRetryTokenForRetry(
        token,
        name !== undefined && BODY_NOT_RECEIVED.has(name) ? { ...info, errorType: "TRANSIENT" } : info,
      );
    },
    recordSuccess: (token) => inner.recordSuccess(token),
  };
}

export class S3Store implements ObjectStore {
  readonly schemes: readonly Scheme[] = ["s3"];
  // Private fields: not enumerable, so logging or JSON-serialising the store
  // cannot reach the client config (and the credentials in it).
  readonly #client: S3Client;
  readonly #options: ResolvedS3Options;
  readonly #log: Logger;
  readonly #ownsClient: boolean;

  constructor(options: S3Options = {}, storeOptions: S3StoreOptions = {}) {
    const parsed = S3OptionsSchema.safeParse(options);
    if (!parsed.success) {
      // zod 4 does not put input values in issues, so this cannot echo a key.
      throw new StorageError(`invalid S3 options: ${parsed.error.issues.map((i) => i.message).join("; ")}`, {
        op: "open",
        uri: "s3://",
      });
    }
    this.#options = parsed.data;
    const o = this.#options;
    this.#log = (storeOptions.logger ?? createLogger("storage")).child({
      backend: "s3",
      endpoint: safeEndpoint(o.endpoint),
      region: o.region,
    });
    if (storeOptions.client) {
      this.#client = storeOptions.client;
      this.#ownsClient = false;
    } else {
      const config: S3ClientConfig = {
        region: o.region,
        forcePathStyle: o.forcePathStyle ?? o.endpoint !== undefined,
        retryStrategy: withResend(
          o.retryMode === "adaptive"
            ? new AdaptiveRetryStrategy(async () => o.maxAttempts)
            : new StandardRetryStrategy(o.maxAttempts),
        ),
        requestHandler: { connectionTimeout: o.connectionTimeoutMs },
      };
      if (o.endpoint !== undefined) config.endpoint = o.endpoint;
      if (o.accessKeyId !== undefined && o.secretAccessKey !== undefined) {
        config.credentials = {
          accessKeyId: o.accessKeyId,
          secretAccessKey: o.secretAccessKey,
          ...(o.sessionToken !== undefined ? { sessionToken: o.sessionToken } : {}),
        };
      }
      this.#client = new S3Client(config);
      this.#ownsClient = true;
    }
    this.description = Object.freeze({
      backend: "s3",
      endpoint: safeEndpoint(o.endpoint),
      region: o.region,
      forcePathStyle: o.forcePathStyle ?? o.endpoint !== undefined,
      credentialSource: o.accessKeyId !== undefined ? "explicit" : "default-chain",
      maxAttempts: o.maxAttempts,
      retryMode: o.retryMode,
      partSize: o.partSize,
      uploadConcurrency: o.uploadConcurrency,
    });
    this.#log.debug({ store: this.description }, "s3 store opened");
  }

  /**
   * What is safe to log about this store. A plain public field, not a getter
   * over private state: pino's redaction serialises a copy of a logged
   * object, on which private fields cannot be read.
   */
  readonly description: Readonly<Record<string, unknown>>;

  describe(): Record<string, unknown> {
    return { ...this.description };
  }

  toJSON(): Record<string, unknown> {
    return { ...this.description };
  }

  /** The underlying client, for operations this interface does not cover. */
  get client(): S3Client {
    return this.#client;
  }

  #s3(op: string, uri: string, { prefix = false } = {}): S3Uri {
    const parsed = parseUri(uri);
    if (parsed.scheme !== "s3") {
      throw new StorageError(`${op} ${uri}: the S3 store serves s3:// URIs only (use openStore() for both)`, {
        op,
        uri,
      });
    }
    if (!prefix && (parsed.key === "" || parsed.key.endsWith("/"))) {
      throw new StorageError(`${op} ${uri}: an object URI needs a key that does not end with '/'`, {
        op,
        uri,
      });
    }
    return parsed;
  }

  /** Turn an SDK failure into a StorageError with safe fields only, and log it. */
  #fail(op: string, uri: string, e: unknown): StorageError {
    if (e instanceof StorageError) return e;
    const f = sdkErrorFields(e);
    const extra = {
      code: f.code,
      ...(f.status !== undefined ? { status: f.status } : {}),
      ...(f.requestId !== undefined ? { requestId: f.requestId } : {}),
    };
    let err: StorageError;
    if (f.status === 404 && f.code !== "NoSuchBucket") {
      err = new NotFoundError(op, uri, extra);
    } else {
      const hint =
        f.code === "NoSuchBucket"
          ? " (the bucket does not exist: create it or fix the URI)"
          : f.status === 403
            ? " (check the credentials and the bucket policy)"
            : "";
      const detail = [f.code, f.status !== undefined ? `HTTP ${f.status}` : undefined, f.message]
        .filter((s) => s !== undefined && s !== "")
        .join(", ");
      const tries = f.attempts !== undefined && f.attempts > 1 ? ` after ${f.attempts} attempts` : "";
      err = new StorageError(`${op} ${uri} failed${tries}: ${detail}${hint}`, {
        op,
        uri,
        ...extra,
        ...(f.attempts !== undefined ? { attempts: f.attempts } : {}),
      });
    }
    const level = isServerOrNetwork(f) ? "warn" : "debug";
    this.#log[level](
      { op, uri, code: err.code, status: err.status, requestId: err.requestId, attempts: f.attempts },
      "s3 request failed",
    );
    return err;
  }

  async get(uri: string, options: GetOptions = {}): Promise<Readable> {
    const { bucket, key } = this.#s3("get", uri);
    validateRange("get", uri, options);
    if (options.length === 0) {
      // S3 has no empty Range; keep the not-found behaviour with a HEAD.
      await this.stat(uri);
      return emptyStream();
    }
    const range =
      options.offset !== undefined || options.length !== undefined
        ? `bytes=${options.offset ?? 0}-${options.length !== undefined ? (options.offset ?? 0) + options.length - 1 : ""}`
        : undefined;
    try {
      const out = await this.#client.send(
        new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: range } : {}) }),
        options.signal ? { abortSignal: options.signal } : {},
      );
      if (!(out.Body instanceof Readable)) {
        throw new StorageError(`get ${uri}: the SDK returned a non-stream body`, { op: "get", uri });
      }
      return out.Body;
    } catch (e) {
      // A range that starts at/after the end: S3 says 416; the contract says empty.
      if (sdkErrorFields(e).status === 416) return emptyStream();
      throw this.#fail("get", uri, e);
    }
  }

  async getBytes(uri: string, options: GetOptions = {}): Promise<Buffer> {
    // The SDK retried the request; this loop covers a body that fails
    // mid-transfer (reset connection), which a fresh GET can recover.
    for (let attempt = 1; ; attempt++) {
      const stream = await this.get(uri, options);
      try {
        return await readAll(stream);
      } catch (e) {
        const f = sdkErrorFields(e);
        if (attempt >= this.#options.maxAttempts || options.signal?.aborted) throw this.#fail("get", uri, e);
        const delay = Math.floor(Math.random() * Math.min(100 * 2 ** attempt, 20_000));
        this.#log.warn(
          { op: "get", uri, code: f.code, attempt, delayMs: delay },
          "s3 body read failed; retrying",
        );
        await sleep(delay);
      }
    }
  }

  async put(uri: string, body: Body, options: PutOptions = {}): Promise<PutResult> {
    const { bucket, key } = this.#s3("put", uri);
    const started = Date.now();
    const o = this.#options;
    const base = {
      Bucket: bucket,
      Key: key,
      ...(options.contentType !== undefined ? { ContentType: options.contentType } : {}),
    };
    try {
      if (!(body instanceof Readable)) {
        const buf = toBuffer(body);
        if (buf.length <= o.partSize) {
          // One request with a Buffer body: the SDK can replay it on retry.
          await this.#client.send(
            new PutObjectCommand({ ...base, Body: buf, ContentLength: buf.length }),
            options.signal ? { abortSignal: options.signal } : {},
          );
          this.#log.debug({ op: "put", uri, size: buf.length, ms: Date.now() - started }, "put");
          return { uri: formatUri({ scheme: "s3", bucket, key }), size: buf.length };
        }
        await this.#uploadReplayable(base, buf, uri, options.signal);
        this.#log.debug(
          { op: "put", uri, size: buf.length, ms: Date.now() - started, multipart: true },
          "put",
        );
        return { uri: formatUri({ scheme: "s3", bucket, key }), size: buf.length };
      }
      const counter = new ByteCounter();
      // pipeline() forwards a source error to the counter, so Upload sees it
      // and aborts the multipart upload instead of completing a short object.
      pipeline(body, counter, () => undefined);
      await this.#upload(base, counter, options.signal);
      this.#log.debug({ op: "put", uri, size: counter.bytes, ms: Date.now() - started }, "put");
      return { uri: formatUri({ scheme: "s3", bucket, key }), size: counter.bytes };
    } catch (e) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      throw this.#fail("put", uri, e);
    }
  }

  /**
   * A multipart upload of a Buffer, started again as a new upload when it
   * fails transiently. The SDK retries each request, but not the upload as a
   * whole: a part that still fails ends it (and lib-storage aborts it, so
   * the other parts get 404 NoSuchUpload), and a CompleteMultipartUpload
   * retried after a lost response finds its upload gone (404 NoSuchUpload)
   * although the object was written. Seen under load in CI: a checkpoint
   * write failed this way and restarted the training. A Buffer can simply
   * be sent again.
   */
  async #uploadReplayable(
    params: { Bucket: string; Key: string; ContentType?: string },
    buf: Buffer,
    uri: string,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#upload(params, buf, signal);
        return;
      } catch (e) {
        const f = sdkErrorFields(e);
        const transient =
          f.code === "NoSuchUpload" ||
          f.code === "IncompleteBody" ||
          f.status === undefined ||
          f.status >= 500 ||
          f.status === 429;
        if (!transient || attempt >= this.#options.maxAttempts || signal?.aborted) throw e;
        const delay = Math.floor(Math.random() * Math.min(100 * 2 ** attempt, 20_000));
        this.#log.warn(
          { op: "put", uri, code: f.code, status: f.status, attempt, delayMs: delay },
          "multipart upload failed; starting it again",
        );
        await sleep(delay);
      }
    }
  }

  async #upload(
    params: { Bucket: string; Key: string; ContentType?: string },
    body: Buffer | Readable,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const abortController = new AbortController();
    const onAbort = (): void => abortController.abort(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      signal?.throwIfAborted();
      const upload = new Upload({
        client: this.#client,
        params: { ...params, Body: body },
        partSize: this.#options.partSize,
        queueSize: this.#options.uploadConcurrency,
        // On failure, abort the multipart upload so no orphaned parts are
        // billed (and no partial object can ever appear).
        leavePartsOnError: false,
        abortController,
      });
      await upload.done();
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  async stat(uri: string): Promise<ObjectInfo> {
    const { bucket, key } = this.#s3("stat", uri);
    try {
      const out = await this.#client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      const info: ObjectInfo = {
        uri: formatUri({ scheme: "s3", bucket, key }),
        size: out.ContentLength ?? 0,
        lastModified: out.LastModified ?? new Date(0),
      };
      if (out.ETag !== undefined) info.etag = out.ETag.replace(/^"|"$/g, "");
      if (out.ContentType !== undefined) info.contentType = out.ContentType;
      return info;
    } catch (e) {
      throw this.#fail("stat", uri, e);
    }
  }

  async exists(uri: string): Promise<boolean> {
    try {
      await this.stat(uri);
      return true;
    } catch (e) {
      // Note: without s3:ListBucket permission S3 answers 403, not 404, for a
      // missing key; that stays an error rather than a silent "false".
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    const { bucket, key: keyPrefix } = this.#s3("list", prefix, { prefix: true });
    try {
      // The paginator follows ContinuationToken: any number of keys, 1000 per page.
      for await (const page of paginateListObjectsV2(
        { client: this.#client, pageSize: 1000 },
        { Bucket: bucket, Prefix: keyPrefix },
      )) {
        for (const obj of page.Contents ?? []) {
          if (obj.Key === undefined) continue;
          yield {
            uri: formatUri({ scheme: "s3", bucket, key: obj.Key }),
            key: obj.Key,
            relativeKey: obj.Key.slice(keyPrefix.length),
            size: obj.Size ?? 0,
            lastModified: obj.LastModified ?? new Date(0),
          };
        }
      }
    } catch (e) {
      throw this.#fail("list", prefix, e);
    }
  }

  async delete(uri: string): Promise<void> {
    const { bucket, key } = this.#s3("delete", uri);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (e) {
      const err = this.#fail("delete", uri, e);
      if (err instanceof NotFoundError && err.code !== "NoSuchBucket") return;
      throw err;
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const { bucket, key: keyPrefix } = this.#s3("deletePrefix", prefix, { prefix: true });
    if (keyPrefix === "") {
      throw new StorageError(
        `deletePrefix ${prefix}: refusing to empty a whole bucket; pass a key prefix (s3://${bucket}/some/prefix/)`,
        { op: "deletePrefix", uri: prefix },
      );
    }
    let deleted = 0;
    let batch: string[] = [];
    const flush = async (): Promise<void> => {
      if (batch.length === 0) return;
      const keys = batch;
      batch = [];
      try {
        const out = await this.#client.send(
          new DeleteObjectsCommand({
            Bucket: bucket,
            Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
          }),
        );
        const errors = out.Errors ?? [];
        if (errors.length > 0) {
          const first = errors[0]!;
          throw new StorageError(
            `deletePrefix ${prefix}: ${errors.length} of ${keys.length} deletes failed, first ${first.Key}: ${first.Code} ${first.Message ?? ""}`.trim(),
            { op: "deletePrefix", uri: prefix, ...(first.Code ? { code: first.Code } : {}) },
          );
        }
        deleted += keys.length;
      } catch (e) {
        throw this.#fail("deletePrefix", prefix, e);
      }
    };
    // Listing while deleting is safe: the paginator's continuation token is
    // past the keys already returned. DeleteObjects takes at most 1000 keys.
    for await (const entry of this.list(prefix)) {
      batch.push(entry.key);
      if (batch.length === 1000) await flush();
    }
    await flush();
    this.#log.debug({ op: "deletePrefix", uri: prefix, deleted }, "deletePrefix");
    return deleted;
  }

  /** Create the bucket if it is missing (test environments, first-run setup). */
  async ensureBucket(bucket: string): Promise<void> {
    const uri = formatUri({ scheme: "s3", bucket, key: "" });
    try {
      await this.#client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (e) {
      if (sdkErrorFields(e).status !== 404) throw this.#fail("ensureBucket", uri, e);
    }
    try {
      // us-east-1 is the one region that rejects an explicit LocationConstraint.
      const region = this.#options.region;
      await this.#client.send(
        new CreateBucketCommand({
          Bucket: bucket,
          ...(region !== "us-east-1"
            ? { CreateBucketConfiguration: { LocationConstraint: region as BucketLocationConstraint } }
            : {}),
        }),
      );
    } catch (e) {
      const code = sdkErrorFields(e).code;
      if (code === "BucketAlreadyOwnedByYou" || code === "BucketAlreadyExists") return;
      throw this.#fail("ensureBucket", uri, e);
    }
  }

  async close(): Promise<void> {
    if (this.#ownsClient) this.#client.destroy();
  }
}
