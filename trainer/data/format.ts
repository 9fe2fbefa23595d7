// The on-store layout of a packed dataset, shared by the packer and the
// reader:
//
//   <prefix>/shard-000000.tar … shard-NNNNNN.tar   WebDataset-style tar shards, one `<key>.jpg` per sample
//   <prefix>/_pack/shard-000000.json …            per-shard completion markers (only while packing)
//   <prefix>/index.json                            written LAST: its presence means "complete"
//
// index.json uses the storage layer's manifest envelope (common/storage/
// manifest.ts: kind, version, createdAt, objects[{name, size, sha256}], data),
// so `readManifest(store, prefix, DatasetIndexDataSchema, { manifestName:
// "index.json", verify: "sha256" })` can prove every shard is the one written.
// `data` carries what is dataset-specific: per-shard sample counts, image
// size, skipped inputs.
import { z } from "zod";
import {
  joinUri,
  readManifest,
  type ManifestRecord,
  type ObjectStore,
  type VerifyMode,
} from "../../common/storage/index.js";

export const DATASET_INDEX_NAME = "index.json";
export const DATASET_FORMAT = "stylekube.io/dataset";
/** Folder (under the dataset prefix) of per-shard markers an interrupted pack resumes from. */
export const PACK_STATE_DIR = "_pack";
/** Every sample is one tar member named `<key>.jpg`; keys never contain '.' (WebDataset splits on the first dot). */
export const SAMPLE_EXTENSION = ".jpg";

export function shardName(index: number): string {
  return `shard-${String(index).padStart(6, "0")}.tar`;
}

export const SkippedFileSchema = z.object({
  /** Path relative to the input folder, or the member name inside the zip. */
  file: z.string(),
  reason: z.string(),
});
export type SkippedFile = z.infer<typeof SkippedFileSchema>;

export const ShardEntrySchema = z.object({
  name: z.string().regex(/^shard-\d{6}\.tar$/),
  /** Samples (tar members) in this shard; fewer than `shardSize` when inputs were skipped or for the last shard. */
  samples: z.int().min(0),
});
export type ShardEntry = z.infer<typeof ShardEntrySchema>;

export const DatasetIndexDataSchema = z.object({
  format: z.literal(DATASET_FORMAT),
  version: z.literal(1),
  /** Every sample is a square JPEG of this side. */
  imageSize: z.int().min(1),
  jpegQuality: z.int().min(1).max(100),
  /** Input files assigned per shard (in sorted input order). */
  shardSize: z.int().min(1),
  /** Total samples over all shards. */
  samples: z.int().min(0),
  shards: z.array(ShardEntrySchema),
  skipped: z.array(SkippedFileSchema),
  source: z.object({
    kind: z.enum(["folder", "zip"]),
    /** Candidate input files (images and non-images) that were considered. */
    files: z.int().min(0),
    /** sha256 over the sorted input list (names + sizes) and the pack options; a resume must match it. */
    fingerprint: z.string().regex(/^[0-9a-f]{64}$/),
  }),
});
export type DatasetIndexData = z.infer<typeof DatasetIndexDataSchema>;

/** A shard with everything a reader needs: where, how many samples, and its checksum. */
export interface ShardInfo {
  name: string;
  uri: string;
  samples: number;
  size: number;
  sha256: string;
}

export interface DatasetIndex {
  prefix: string;
  imageSize: number;
  samples: number;
  shards: ShardInfo[];
  skipped: SkippedFile[];
  record: ManifestRecord<DatasetIndexData>;
}

/** Thrown when index.json exists but contradicts itself (shards vs. manifest objects). */
export class DatasetIndexError extends Error {
  override readonly name = "DatasetIndexError";
}

/**
 * Read and validate `<prefix>/index.json`. Rejects with the storage layer's
 * NotFoundError when there is none: the dataset is absent or still packing.
 */
export async function readDatasetIndex(
  store: ObjectStore,
  prefix: string,
  options: { verify?: VerifyMode } = {},
): Promise<DatasetIndex> {
  const record = await readManifest(store, prefix, DatasetIndexDataSchema, {
    manifestName: DATASET_INDEX_NAME,
    verify: options.verify ?? "none",
  });
  const byName = new Map(record.objects.map((o) => [o.name, o]));
  const shards: ShardInfo[] = record.data.shards.map((s) => {
    const obj = byName.get(s.name);
    if (!obj) throw new DatasetIndexError(`${prefix}: index lists shard ${s.name} without size/sha256`);
    return {
      name: s.name,
      uri: joinUri(prefix, s.name),
      samples: s.samples,
      size: obj.size,
      sha256: obj.sha256,
    };
  });
  const total = shards.reduce((n, s) => n + s.samples, 0);
  if (total !== record.data.samples) {
    throw new DatasetIndexError(
      `${prefix}: index says ${record.data.samples} samples but its shards add up to ${total}`,
    );
  }
  return {
    prefix,
    imageSize: record.data.imageSize,
    samples: total,
    shards,
    skipped: record.data.skipped,
    record,
  };
}
