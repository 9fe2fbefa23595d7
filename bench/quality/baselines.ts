// Gatys et al.'s baselines of the quality bench, kept between runs. A
// baseline is the loss one L-BFGS optimisation of a held-out photo reached
// after each requested iteration count. It does not depend on the network
// being judged, only on what the key below names, so it is computed once
// (many CPU-minutes per photo at 256 px) and read back by later runs, by an
// interrupted run that resumes, and — from a committed file — on other
// machines.
import { z } from "zod";

export const BASELINES_KIND = "stylekube.io/quality-baselines";

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, "a lowercase hex sha256");
const LossValuesSchema = z.object({
  total: z.number(),
  content: z.number(),
  style: z.number(),
  tv: z.number(),
});

/** Everything the optimisation's result depends on. Two runs with equal keys follow the same trajectory. */
export const BaselineKeySchema = z.object({
  style: z.object({ sha256: Sha256, size: z.int().positive() }),
  photo: z.object({ name: z.string().min(1), sha256: Sha256 }),
  width: z.int().positive(),
  height: z.int().positive(),
  weights: z.object({ content: z.number(), style: z.number(), tv: z.number() }),
  layers: z.object({ content: z.string(), style: z.array(z.string()) }),
  vggSha256: Sha256,
  /** The engine the losses were evaluated on, e.g. "onnxruntime/cpu" or "wasm". */
  engine: z.string().min(1),
  method: z.enum(["lbfgs", "adam"]),
  init: z.enum(["noise", "content"]),
  seed: z.int(),
});
export type BaselineKey = z.infer<typeof BaselineKeySchema>;

export const CheckpointSchema = z.object({
  iterations: z.int().nonnegative(),
  /** total λ-weighted; content, style and tv unweighted (as LossValues). */
  loss: LossValuesSchema,
  /** Wall time from the start of the optimisation. */
  seconds: z.number().nonnegative(),
});
export type Checkpoint = z.infer<typeof CheckpointSchema>;

export const BaselineEntrySchema = z.object({
  key: BaselineKeySchema,
  /** The painting's file name, for people reading the file (the key holds its hash). */
  styleName: z.string(),
  checkpoints: z.array(CheckpointSchema),
  /**
   * Set when L-BFGS found no decrease and stopped after this many
   * iterations (the last checkpoint): its loss is the loss at every larger count.
   */
  stoppedAt: z.int().nonnegative().nullable(),
  recordedAt: z.iso.datetime(),
  /** Where the wall times were measured. */
  machine: z.object({ cpu: z.string(), cores: z.int().positive(), threads: z.int().positive() }),
});
export type BaselineEntry = z.infer<typeof BaselineEntrySchema>;

export const BaselineFileSchema = z.object({
  kind: z.literal(BASELINES_KIND),
  version: z.literal(1),
  entries: z.array(BaselineEntrySchema),
});
export type BaselineFile = z.infer<typeof BaselineFileSchema>;

export function emptyBaselines(): BaselineFile {
  return { kind: BASELINES_KIND, version: 1, entries: [] };
}

/** JSON with object keys sorted at every depth, so equal keys give equal strings whatever their field order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${fields.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export const keyString = (key: BaselineKey): string => canonicalJson(key);

/** The checkpoint standing for `iterations`: the recorded one, or the final one when L-BFGS stopped before. */
export function checkpointAt(entry: BaselineEntry, iterations: number): Checkpoint | undefined {
  const exact = entry.checkpoints.find((c) => c.iterations === iterations);
  if (exact !== undefined) return exact;
  if (entry.stoppedAt !== null && iterations >= entry.stoppedAt)
    return entry.checkpoints.find((c) => c.iterations === entry.stoppedAt);
  return undefined;
}

/** Whether the entry answers every count (a run to fewer iterations, or that skipped one, does not). */
export function covers(entry: BaselineEntry, counts: readonly number[]): boolean {
  return counts.every((n) => checkpointAt(entry, n) !== undefined);
}

/** The entry for `key` that answers every count, if the file has one. */
export function findBaseline(
  file: BaselineFile,
  key: BaselineKey,
  counts: readonly number[],
): BaselineEntry | undefined {
  const wanted = keyString(key);
  return file.entries.find((e) => keyString(e.key) === wanted && covers(e, counts));
}

const countsOf = (e: BaselineEntry): number[] => e.checkpoints.map((c) => c.iterations);

/**
 * `added` merged into `existing`: one entry per key. An added entry replaces
 * the existing one of its key unless the existing one answers strictly more
 * counts (it covers all of the added one's and more). Entries are sorted by
 * photo name, then key, so a committed file changes little between runs.
 */
export function mergeBaselines(existing: BaselineFile, added: readonly BaselineEntry[]): BaselineFile {
  const byKey = new Map(existing.entries.map((e) => [keyString(e.key), e]));
  for (const entry of added) {
    const key = keyString(entry.key);
    const old = byKey.get(key);
    const oldAnswersMore = old !== undefined && covers(old, countsOf(entry)) && !covers(entry, countsOf(old));
    if (!oldAnswersMore) byKey.set(key, entry);
  }
  const entries = [...byKey.entries()]
    .sort(([ka, a], [kb, b]) =>
      a.key.photo.name !== b.key.photo.name
        ? a.key.photo.name < b.key.photo.name
          ? -1
          : 1
        : ka < kb
          ? -1
          : 1,
    )
    .map(([, e]) => e);
  return { kind: BASELINES_KIND, version: 1, entries };
}
