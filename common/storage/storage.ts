// The one storage interface. The trainer reads dataset shards and writes
// checkpoints, serving reads models and the CLI packs datasets through it,
// without knowing whether the location is S3 (AWS, MinIO, …) or a local path.
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { Scheme } from "./uri.js";

/** What `put` accepts. A Readable is streamed (multipart on S3), never buffered whole. */
export type Body = Buffer | Uint8Array | string | Readable;

export interface PutOptions {
  contentType?: string;
  signal?: AbortSignal;
}

export interface PutResult {
  uri: string;
  /** Bytes written. */
  size: number;
}

export interface GetOptions {
  /** Byte range to read: from `offset` (default 0), at most `length` bytes (default: to the end). */
  offset?: number;
  length?: number;
  signal?: AbortSignal;
}

export interface ObjectInfo {
  uri: string;
  size: number;
  lastModified: Date;
  /** S3 ETag (quotes stripped); undefined on the file backend. */
  etag?: string;
  /** Content-Type stored with the object; undefined on the file backend (it keeps no metadata). */
  contentType?: string;
}

export interface ListEntry {
  uri: string;
  /** The S3 object key, or the absolute path on the file backend. */
  key: string;
  /** `key` with the listed prefix removed: the name relative to the prefix. */
  relativeKey: string;
  size: number;
  lastModified: Date;
}

export interface ObjectStore {
  /** Schemes this store serves. */
  readonly schemes: readonly Scheme[];
  /**
   * Open an object for streaming. Rejects with NotFoundError before any byte
   * is read when the object does not exist. An error after the stream started
   * (connection reset mid-body) is emitted on the stream: the SDK's retries
   * cover the request, not the body, so callers that need it re-`get`.
   */
  get(uri: string, options?: GetOptions): Promise<Readable>;
  /** The whole object (or range) in memory; retried as a whole on a mid-body failure. */
  getBytes(uri: string, options?: GetOptions): Promise<Buffer>;
  /**
   * Write an object. Readers never see a partial object: S3 makes the object
   * visible only when the (multipart) upload completes; the file backend
   * writes a temp file and renames it.
   */
  put(uri: string, body: Body, options?: PutOptions): Promise<PutResult>;
  /** Metadata; rejects with NotFoundError when missing. */
  stat(uri: string): Promise<ObjectInfo>;
  exists(uri: string): Promise<boolean>;
  /** Objects whose key starts with the prefix (a string prefix, not only directories), in key byte order. */
  list(prefix: string): AsyncIterable<ListEntry>;
  /** Delete one object; deleting a missing object is not an error (as on S3). */
  delete(uri: string): Promise<void>;
  /** Delete every object under the prefix; returns how many. Refuses an empty bucket-wide or "/" prefix. */
  deletePrefix(prefix: string): Promise<number>;
  /** Release connections. */
  close(): Promise<void>;
}

/** Any storage failure. Carries only safe fields (never a request, headers or credentials). */
export class StorageError extends Error {
  override name = "StorageError";
  readonly op: string;
  readonly uri: string;
  /** S3 error code (e.g. "AccessDenied") or errno code (e.g. "EACCES"). */
  readonly code: string | undefined;
  /** HTTP status from S3, when there was a response. */
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  /** Requests the SDK made, retries included. */
  readonly attempts: number | undefined;

  constructor(
    message: string,
    fields: {
      op: string;
      uri: string;
      code?: string;
      status?: number;
      requestId?: string;
      attempts?: number;
    },
  ) {
    super(message);
    this.op = fields.op;
    this.uri = fields.uri;
    this.code = fields.code;
    this.status = fields.status;
    this.requestId = fields.requestId;
    this.attempts = fields.attempts;
  }
}

/** The object (or the bucket) does not exist. Same class on every backend, so callers can `instanceof`. */
export class NotFoundError extends StorageError {
  override name = "NotFoundError";
  constructor(op: string, uri: string, extra: { code?: string; status?: number; requestId?: string } = {}) {
    super(`${uri} not found`, { op, uri, code: extra.code ?? "NotFound", ...extra });
  }
}

export function isNotFound(e: unknown): e is NotFoundError {
  return e instanceof NotFoundError;
}

export function toBuffer(body: Exclude<Body, Readable>): Buffer {
  if (typeof body === "string") return Buffer.from(body, "utf8");
  if (Buffer.isBuffer(body)) return body;
  return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/** Read a stream to the end into one Buffer. */
export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
}

/** Pass-through that counts bytes, for `PutResult.size` of streamed bodies. */
export class ByteCounter extends Transform {
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

export function validateRange(op: string, uri: string, options: GetOptions): void {
  const { offset, length } = options;
  if (offset !== undefined && (!Number.isSafeInteger(offset) || offset < 0)) {
    throw new StorageError(`${op} ${uri}: offset must be a non-negative integer, got ${offset}`, { op, uri });
  }
  if (length !== undefined && (!Number.isSafeInteger(length) || length < 0)) {
    throw new StorageError(`${op} ${uri}: length must be a non-negative integer, got ${length}`, { op, uri });
  }
}

/** An empty Readable, for zero-length ranges (S3 rejects a Range that selects no bytes). */
export function emptyStream(): Readable {
  return Readable.from([]);
}

/**
 * Run `fn` over `items` with at most `limit` in flight. On the first failure
 * no new item starts, the signal passed to `fn` aborts, and — once every
 * started call has settled, so nothing is still writing — the error is thrown.
 */
export async function forEachLimit<T>(
  items: Iterable<T>,
  limit: number,
  fn: (item: T, index: number, signal: AbortSignal) => Promise<void>,
  outer?: AbortSignal,
): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency must be an integer >= 1, got ${limit}`);
  const controller = new AbortController();
  const onOuterAbort = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) onOuterAbort();
  outer?.addEventListener("abort", onOuterAbort, { once: true });
  const it = items[Symbol.iterator]();
  let index = 0;
  let firstError: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (firstError || controller.signal.aborted) return;
      const next = it.next();
      if (next.done) return;
      const i = index++;
      try {
        await fn(next.value, i, controller.signal);
      } catch (error) {
        if (!firstError) firstError = { error };
        controller.abort(error);
        return;
      }
    }
  };
  try {
    await Promise.all(Array.from({ length: limit }, worker));
  } finally {
    outer?.removeEventListener("abort", onOuterAbort);
  }
  if (firstError) throw firstError.error;
  outer?.throwIfAborted();
}
