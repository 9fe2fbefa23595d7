// `stylekube dataset pack`: photos → square JPEGs → tar shards + index.json.
//
// Built for COCO train2014 (83k photos, 13 GB) as a routine input:
// - streaming: inputs are listed (names, sizes) up front, then read, decoded
//   and resized a few at a time (`concurrency`, default: the CPU count);
// - bounded memory: one shard is built in memory while the previous one
//   uploads, never more (a shard is hashed before it is written, so its
//   marker and the index can carry its sha256);
// - resumable: file i (in sorted order) always goes to shard ⌊i / shardSize⌋,
//   so after an interruption every shard whose marker (_pack/shard-N.json)
//   matches this input and whose object has the recorded size is kept, and
//   only the rest are built;
// - the index is written last: until it exists, readers see no dataset.
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { z } from "zod";
import { createLogger, type Logger } from "../../common/log/logger.js";
import {
  isNotFound,
  joinUri,
  MANIFEST_KIND,
  type ManifestRecord,
  type ObjectStore,
} from "../../common/storage/index.js";
import { mapOrdered } from "./async.js";
import {
  DATASET_FORMAT,
  DATASET_INDEX_NAME,
  PACK_STATE_DIR,
  readDatasetIndex,
  shardName,
  SkippedFileSchema,
  type DatasetIndexData,
  type SkippedFile,
} from "./format.js";
import { prepareImage, SkipImageError } from "./image.js";
import { openInputs, type InputFile } from "./inputs.js";
import { buildShard, type TarSample } from "./tar.js";

export const DEFAULT_IMAGE_SIZE = 256;
export const DEFAULT_SHARD_SIZE = 1000;
export const DEFAULT_JPEG_QUALITY = 90;
/** Inputs larger than this are skipped rather than read into memory (COCO's largest photo is < 1 MB). */
export const DEFAULT_MAX_INPUT_BYTES = 64 * 1024 * 1024;

export interface PackOptions {
  /** Side of the square output images (default 256, the paper's training size). */
  size?: number;
  /** Input files per shard (default 1000 ≈ 20–30 MB of 256² JPEGs). */
  shardSize?: number;
  jpegQuality?: number;
  /** Images decoded at once (default: CPU count). */
  concurrency?: number;
  maxInputBytes?: number;
  /** Rebuild even when a complete index for the same input already exists. */
  force?: boolean;
  onProgress?: (p: PackProgress) => void;
  logger?: Logger;
  signal?: AbortSignal;
}

export interface PackProgress {
  phase: "packing" | "writing-index" | "done";
  filesTotal: number;
  /** Input files handled (packed, skipped, or in a shard finished by an earlier run). */
  filesDone: number;
  samples: number;
  skipped: number;
  shardsTotal: number;
  shardsDone: number;
  /** Shards kept from an earlier, interrupted run. */
  shardsResumed: number;
  /** Bytes of shards written by this run. */
  bytesWritten: number;
}

export interface PackResult {
  indexUri: string;
  index: DatasetIndexData;
  shardsWritten: number;
  shardsResumed: number;
  /** A complete index for exactly this input and these options was already there; nothing was written. */
  alreadyComplete: boolean;
  seconds: number;
}

const MarkerSchema = z.object({
  fingerprint: z.string(),
  name: z.string(),
  samples: z.int().min(0),
  size: z.int().min(0),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  skipped: z.array(SkippedFileSchema),
});
type Marker = z.infer<typeof MarkerSchema>;

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new RangeError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/** `<global input index>_<sanitised name>`: unique, stable, and free of '.' (the WebDataset key/extension separator). */
export function sampleKey(index: number, name: string): string {
  const stem = name.replace(/\.[^./]*$/, "").replace(/[^A-Za-z0-9_-]+/g, "_");
  return `${String(index).padStart(8, "0")}_${stem.slice(-80)}`;
}

function fingerprint(kind: string, files: readonly InputFile[], opts: Record<string, number>): string {
  const h = createHash("sha256");
  h.update(JSON.stringify({ format: DATASET_FORMAT, version: 1, kind, ...opts }));
  for (const f of files) h.update(`\n${f.size}\t${f.name}`);
  return h.digest("hex");
}

export async function packDataset(
  store: ObjectStore,
  input: string,
  prefix: string,
  options: PackOptions = {},
): Promise<PackResult> {
  const started = performance.now();
  const size = positiveInt("size", options.size ?? DEFAULT_IMAGE_SIZE);
  const shardSize = positiveInt("shardSize", options.shardSize ?? DEFAULT_SHARD_SIZE);
  const quality = positiveInt("jpegQuality", options.jpegQuality ?? DEFAULT_JPEG_QUALITY);
  const concurrency = positiveInt("concurrency", options.concurrency ?? availableParallelism());
  const maxInputBytes = options.maxInputBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const log = (options.logger ?? createLogger("dataset-pack")).child({ prefix });
  const signal = options.signal;
  const indexUri = joinUri(prefix, DATASET_INDEX_NAME);
  const markerUri = (k: number): string => joinUri(prefix, PACK_STATE_DIR, `${shardName(k)}.json`);

  const inputs = await openInputs(input);
  // One upload in flight while the next shard is built: at most two shards in memory.
  let upload: Promise<void> | undefined;
  try {
    const files = inputs.files;
    if (files.length === 0) throw new Error(`${input}: no files to pack`);
    const fp = fingerprint(inputs.kind, files, { size, shardSize, quality });
    const shardsTotal = Math.ceil(files.length / shardSize);

    // A complete dataset already here?
    try {
      const existing = await readDatasetIndex(store, prefix);
      if (existing.record.data.source.fingerprint === fp && !options.force) {
        log.info({ samples: existing.samples }, "dataset already packed from this input; nothing to do");
        return {
          indexUri,
          index: existing.record.data,
          shardsWritten: 0,
          shardsResumed: existing.shards.length,
          alreadyComplete: true,
          seconds: (performance.now() - started) / 1000,
        };
      }
      // Different input or options: take the old index away before touching
      // any shard, so nobody pairs it with new (or half-written) shards.
      log.warn("replacing a dataset packed from a different input (or with other options)");
      await store.delete(indexUri);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }

    // What an earlier, interrupted run finished: one listing, then the markers.
    const objectSizes = new Map<string, number>();
    const dir = prefix.endsWith("/") ? prefix : `${prefix}/`;
    for await (const entry of store.list(dir)) objectSizes.set(entry.relativeKey, entry.size);
    const markers = new Array<Marker | undefined>(shardsTotal);
    if (!options.force) {
      for (let k = 0; k < shardsTotal; k++) {
        if (!objectSizes.has(`${PACK_STATE_DIR}/${shardName(k)}.json`)) continue;
        const parsed = MarkerSchema.safeParse(
          JSON.parse((await store.getBytes(markerUri(k))).toString("utf8")) as unknown,
        );
        // A marker counts only for this exact input and when the shard object is there with its recorded size.
        if (
          parsed.success &&
          parsed.data.fingerprint === fp &&
          objectSizes.get(shardName(k)) === parsed.data.size
        )
          markers[k] = parsed.data;
      }
    }

    const progress: PackProgress = {
      phase: "packing",
      filesTotal: files.length,
      filesDone: 0,
      samples: 0,
      skipped: 0,
      shardsTotal,
      shardsDone: 0,
      shardsResumed: 0,
      bytesWritten: 0,
    };
    const report = (): void => options.onProgress?.({ ...progress });
    for (const m of markers) {
      if (!m) continue;
      progress.shardsResumed++;
      progress.shardsDone++;
      progress.samples += m.samples;
      progress.skipped += m.skipped.length;
    }
    progress.filesDone = markers.reduce(
      (n, m, k) => (m ? n + Math.min(shardSize, files.length - k * shardSize) : n),
      0,
    );
    if (progress.shardsResumed > 0)
      log.info({ shards: progress.shardsResumed }, "resuming: shards already done");
    report();

    let uploadFailed: unknown;
    const writeShard = async (k: number, tarBytes: Buffer, samples: number, skipped: SkippedFile[]) => {
      const marker: Marker = {
        fingerprint: fp,
        name: shardName(k),
        samples,
        size: tarBytes.length,
        sha256: createHash("sha256").update(tarBytes).digest("hex"),
        skipped,
      };
      await store.put(joinUri(prefix, marker.name), tarBytes, { contentType: "application/x-tar", signal });
      // The marker after the shard: a marker always describes a complete object.
      await store.put(markerUri(k), JSON.stringify(marker), { contentType: "application/json", signal });
      markers[k] = marker;
      progress.shardsDone++;
      progress.bytesWritten += tarBytes.length;
      report();
    };

    for (let k = 0; k < shardsTotal; k++) {
      if (markers[k]) continue;
      const first = k * shardSize;
      const slice = files.slice(first, first + shardSize).map((f, i) => ({ f, index: first + i }));
      const samples: TarSample[] = [];
      const skipped: SkippedFile[] = [];
      const results = mapOrdered(slice, concurrency, async ({ f, index }) => {
        signal?.throwIfAborted();
        if (uploadFailed !== undefined) throw uploadFailed;
        if (f.size > maxInputBytes) return { f, index, skip: `larger than ${maxInputBytes} bytes` };
        try {
          return { f, index, jpeg: await prepareImage(await f.read(), size, quality) };
        } catch (e) {
          if (e instanceof SkipImageError) return { f, index, skip: e.message };
          return { f, index, skip: `unreadable: ${(e as Error).message}` };
        }
      });
      for await (const r of results) {
        if (r.jpeg) samples.push({ key: sampleKey(r.index, r.f.name), bytes: r.jpeg });
        else {
          skipped.push({ file: r.f.name, reason: r.skip ?? "unknown" });
          log.debug({ file: r.f.name, reason: r.skip }, "skipped");
        }
        progress.filesDone++;
        if (r.jpeg) progress.samples++;
        else progress.skipped++;
        report();
      }
      const tarBytes = await buildShard(samples);
      samples.length = 0;
      await upload;
      upload = writeShard(k, tarBytes, slice.length - skipped.length, skipped);
      upload.catch((e: unknown) => (uploadFailed = e));
    }
    await upload;

    progress.phase = "writing-index";
    report();
    const done = markers.map((m, k) => {
      if (!m) throw new Error(`internal: shard ${k} has no marker after packing`);
      return m;
    });
    const data: DatasetIndexData = {
      format: DATASET_FORMAT,
      version: 1,
      imageSize: size,
      jpegQuality: quality,
      shardSize,
      samples: done.reduce((n, m) => n + m.samples, 0),
      shards: done.map((m) => ({ name: m.name, samples: m.samples })),
      skipped: done.flatMap((m) => m.skipped),
      source: { kind: inputs.kind, files: files.length, fingerprint: fp },
    };
    // The storage layer's manifest envelope, so readManifest/verifyManifest work on it.
    const record: ManifestRecord<DatasetIndexData> = {
      kind: MANIFEST_KIND,
      version: 1,
      createdAt: new Date().toISOString(),
      objects: done.map((m) => ({ name: m.name, size: m.size, sha256: m.sha256 })),
      data,
    };
    signal?.throwIfAborted();
    await store.put(indexUri, `${JSON.stringify(record, null, 2)}\n`, { contentType: "application/json" });
    // Markers are only for resuming; the index now says everything. Best effort.
    await store.deletePrefix(joinUri(prefix, `${PACK_STATE_DIR}/`)).catch((e: unknown) => {
      log.warn({ err: (e as Error).message }, "could not delete pack markers (harmless)");
    });
    progress.phase = "done";
    report();
    const written = shardsTotal - progress.shardsResumed;
    log.info(
      { samples: data.samples, skipped: data.skipped.length, shards: shardsTotal, written },
      "dataset packed",
    );
    return {
      indexUri,
      index: data,
      shardsWritten: written,
      shardsResumed: progress.shardsResumed,
      alreadyComplete: false,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    // Never return (or throw) while a shard is still being written.
    await upload?.catch(() => undefined);
    await inputs.close();
  }
}
