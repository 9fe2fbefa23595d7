// "Write these objects, then the manifest last." S3 has no multi-object
// transactions; what it does guarantee is that an object is visible only
// once fully written. So a set of objects (a checkpoint, a packed dataset, a
// model) is committed by writing its manifest after every object succeeded:
// a reader that finds the manifest knows the set is complete, and the
// manifest's sizes and sha256 checksums let it prove the objects are the ones
// that were written (not a later overwrite, not a truncated copy).
import { createHash } from "node:crypto";
import { pipeline, Readable, Transform, type TransformCallback } from "node:stream";
import { z } from "zod";
import {
  forEachLimit,
  NotFoundError,
  StorageError,
  toBuffer,
  type Body,
  type ObjectStore,
} from "./storage.js";
import { joinUri } from "./uri.js";

export const MANIFEST_NAME = "manifest.json";
export const MANIFEST_KIND = "stylekube.io/manifest";

export interface ManifestObject {
  /** Path relative to the prefix, e.g. "weights/part-0.bin". */
  name: string;
  size: number;
  /** Lowercase hex sha256 of the bytes. */
  sha256: string;
}

export interface ManifestRecord<T> {
  kind: typeof MANIFEST_KIND;
  version: 1;
  createdAt: string;
  objects: ManifestObject[];
  /** The caller's own content (step, hyperparameters, shard counts …), validated with the caller's schema on read. */
  data: T;
}

export interface ObjectToWrite {
  name: string;
  /**
   * The bytes, or a function that produces them when the object's turn comes
   * (so a thousand shards do not hold a thousand open file streams at once).
   */
  body: Body | (() => Body | Promise<Body>);
  contentType?: string;
}

export interface WriteManifestOptions {
  /** Objects written at once. Default 8. */
  concurrency?: number;
  /** Default "manifest.json". */
  manifestName?: string;
  signal?: AbortSignal;
}

export type VerifyMode = "none" | "size" | "sha256";

export interface ReadManifestOptions {
  manifestName?: string;
  /** "size": HEAD each object; "sha256": also read and hash each one. Default "none". */
  verify?: VerifyMode;
  /** Objects checked at once when verifying. Default 8. */
  concurrency?: number;
}

/** writeWithManifest failed; no manifest was written. */
export class ManifestWriteError extends StorageError {
  override name = "ManifestWriteError";
  constructor(
    prefix: string,
    readonly objectName: string,
    readonly reason: unknown,
  ) {
    super(
      `writing ${prefix}: object ${JSON.stringify(objectName)} failed, so the manifest was not written: ${reason instanceof Error ? reason.message : String(reason)}`,
      {
        op: "writeWithManifest",
        uri: prefix,
        ...(reason instanceof StorageError && reason.code ? { code: reason.code } : {}),
      },
    );
  }
}

/** The manifest exists but is malformed, or objects do not match it. */
export class ManifestError extends StorageError {
  override name = "ManifestError";
  constructor(
    uri: string,
    message: string,
    readonly problems: string[] = [],
  ) {
    super(`${uri}: ${message}`, { op: "readManifest", uri });
  }
}

const NameSchema = z
  .string()
  .min(1)
  .refine((n) => !n.startsWith("/") && !n.endsWith("/"), "object names are relative and cannot end with '/'")
  .refine(
    (n) => n.split("/").every((s) => s !== "" && s !== "." && s !== ".."),
    "no empty, '.' or '..' segments",
  );

const ManifestObjectSchema = z.object({
  name: NameSchema,
  size: z.number().int().nonnegative(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});

function envelopeSchema<T>(data: z.ZodType<T>) {
  return z.object({
    kind: z.literal(MANIFEST_KIND),
    version: z.literal(1),
    createdAt: z.string(),
    objects: z.array(ManifestObjectSchema),
    data,
  });
}

class Sha256Counter extends Transform {
  readonly hash = createHash("sha256");
  bytes = 0;
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }
}

function sha256(buf: Buffer): string {
  return createHash("sha256").update(buf).digest("hex");
}

export function manifestUri(prefix: string, manifestName = MANIFEST_NAME): string {
  return joinUri(prefix, manifestName);
}

/**
 * Write `objects` under `prefix` (in parallel, bounded), then the manifest
 * holding their sizes, sha256 and `data`, last.
 *
 * - Any manifest already at the prefix is deleted first, so while the
 *   objects are being overwritten no reader pairs the old manifest with new
 *   (or half-written) objects.
 * - If an object fails, the other in-flight writes are aborted, no manifest
 *   is written and ManifestWriteError is thrown. Objects that did get written
 *   stay (without a manifest they are not a valid set; rewrite or
 *   deletePrefix to clean up).
 */
export async function writeWithManifest<T>(
  store: ObjectStore,
  prefix: string,
  objects: readonly ObjectToWrite[],
  data: T,
  options: WriteManifestOptions = {},
): Promise<ManifestRecord<T>> {
  const manifestName = options.manifestName ?? MANIFEST_NAME;
  const seen = new Set<string>();
  for (const o of objects) {
    const parsed = NameSchema.safeParse(o.name);
    if (!parsed.success) {
      throw new StorageError(
        `writeWithManifest ${prefix}: bad object name ${JSON.stringify(o.name)}: ${parsed.error.issues[0]?.message}`,
        { op: "writeWithManifest", uri: prefix },
      );
    }
    if (o.name === manifestName) {
      throw new StorageError(`writeWithManifest ${prefix}: an object may not be named ${manifestName}`, {
        op: "writeWithManifest",
        uri: prefix,
      });
    }
    if (seen.has(o.name)) {
      throw new StorageError(`writeWithManifest ${prefix}: object ${JSON.stringify(o.name)} listed twice`, {
        op: "writeWithManifest",
        uri: prefix,
      });
    }
    seen.add(o.name);
  }
  const mUri = manifestUri(prefix, manifestName);
  await store.delete(mUri);

  const records: ManifestObject[] = new Array<ManifestObject>(objects.length);
  let failed: { name: string; error: unknown } | undefined;
  try {
    await forEachLimit(
      objects,
      options.concurrency ?? 8,
      async (obj, i, signal) => {
        try {
          const body = typeof obj.body === "function" ? await obj.body() : obj.body;
          const uri = joinUri(prefix, obj.name);
          const putOptions = {
            signal,
            ...(obj.contentType !== undefined ? { contentType: obj.contentType } : {}),
          };
          if (body instanceof Readable) {
            const hasher = new Sha256Counter();
            pipeline(body, hasher, () => undefined); // a source error reaches the store through `hasher`
            const res = await store.put(uri, hasher, putOptions);
            if (res.size !== hasher.bytes) {
              throw new StorageError(`wrote ${res.size} bytes but hashed ${hasher.bytes}`, {
                op: "put",
                uri,
              });
            }
            records[i] = { name: obj.name, size: hasher.bytes, sha256: hasher.hash.digest("hex") };
          } else {
            const buf = toBuffer(body);
            await store.put(uri, buf, putOptions);
            records[i] = { name: obj.name, size: buf.length, sha256: sha256(buf) };
          }
        } catch (error) {
          failed ??= { name: obj.name, error };
          throw error;
        }
      },
      options.signal,
    );
  } catch (error) {
    throw new ManifestWriteError(prefix, failed?.name ?? "(aborted)", failed?.error ?? error);
  }

  const record: ManifestRecord<T> = {
    kind: MANIFEST_KIND,
    version: 1,
    createdAt: new Date().toISOString(),
    objects: records,
    data,
  };
  options.signal?.throwIfAborted();
  await store.put(mUri, `${JSON.stringify(record, null, 2)}\n`, { contentType: "application/json" });
  return record;
}

/**
 * Read and validate the manifest under `prefix`; `schema` validates `data`.
 * Rejects with NotFoundError when there is no manifest (the set is absent or
 * incomplete), ManifestError when it is malformed or, with `verify`, when an
 * object is missing or differs from what was written.
 */
export async function readManifest<T>(
  store: ObjectStore,
  prefix: string,
  schema: z.ZodType<T>,
  options: ReadManifestOptions = {},
): Promise<ManifestRecord<T>> {
  const mUri = manifestUri(prefix, options.manifestName);
  const bytes = await store.getBytes(mUri);
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new ManifestError(mUri, `not valid JSON: ${(e as Error).message}`);
  }
  const parsed = envelopeSchema(schema).safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    throw new ManifestError(mUri, `invalid manifest: ${problems.join("; ")}`, problems);
  }
  const record = parsed.data as ManifestRecord<T>;
  const mode = options.verify ?? "none";
  if (mode !== "none") await verifyManifest(store, prefix, record, { mode, ...options });
  return record;
}

/** Check every object listed in `record` against the store; throws ManifestError listing all mismatches. */
export async function verifyManifest<T>(
  store: ObjectStore,
  prefix: string,
  record: ManifestRecord<T>,
  options: { mode?: Exclude<VerifyMode, "none">; concurrency?: number; manifestName?: string } = {},
): Promise<void> {
  const mode = options.mode ?? "sha256";
  const problems: string[] = [];
  await forEachLimit(record.objects, options.concurrency ?? 8, async (obj) => {
    const uri = joinUri(prefix, obj.name);
    try {
      const info = await store.stat(uri);
      if (info.size !== obj.size) {
        problems.push(`${obj.name}: size ${info.size}, manifest says ${obj.size}`);
        return;
      }
      if (mode === "sha256") {
        const hasher = createHash("sha256");
        for await (const chunk of await store.get(uri)) hasher.update(chunk as Buffer);
        const got = hasher.digest("hex");
        if (got !== obj.sha256) problems.push(`${obj.name}: sha256 ${got}, manifest says ${obj.sha256}`);
      }
    } catch (e) {
      if (e instanceof NotFoundError) problems.push(`${obj.name}: missing`);
      else throw e;
    }
  });
  if (problems.length > 0) {
    problems.sort();
    throw new ManifestError(
      manifestUri(prefix, options.manifestName),
      `${problems.length} object(s) do not match the manifest: ${problems.slice(0, 5).join("; ")}${problems.length > 5 ? "; …" : ""}`,
      problems,
    );
  }
}
