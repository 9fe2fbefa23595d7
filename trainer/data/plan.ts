// Which samples each rank reads in an epoch, and in what order — a pure
// function of (shard sample counts, seed, epoch, rank, world size, batch
// size), so every rank computes its share without talking to the others and
// a resumed attempt recomputes exactly the order it was in.
//
// 1. The shards are shuffled with a PRNG keyed by (seed, epoch) and laid end
//    to end: one virtual sequence of all N samples.
// 2. Samples, not shards, are split between ranks: each rank takes one
//    contiguous range of `perRank = ⌊N / (W·B)⌋ · B` samples. So world sizes
//    that do not divide the shard count still get equal shares, and every rank
//    runs the same number of batches (training is synchronous). The last
//    N − W·perRank (< W·B) samples of the sequence are dropped for that
//    epoch; since the shard order changes every epoch, so do the dropped
//    samples. A contiguous range touches few shards (each rank streams whole
//    shards, plus at most two partial ones at the ends of its range).
// 3. Within its range a rank shuffles samples in windows of `window`
//    consecutive samples, with a PRNG keyed by (seed, epoch, rank, window).
import { permutation, Prng } from "./prng.js";

export interface PlanInput {
  /** Samples in each shard, in index order. */
  shardSamples: readonly number[];
  seed: number;
  epoch: number;
  rank: number;
  worldSize: number;
  batchSize: number;
}

export interface Segment {
  /** Index into the dataset's shard list. */
  shard: number;
  /** Sample range [from, to) inside that shard. */
  from: number;
  to: number;
}

export interface EpochPlan {
  epoch: number;
  /** Samples this (and every) rank consumes this epoch; a multiple of the batch size. */
  perRank: number;
  batchesPerEpoch: number;
  /** This rank's range, in reading order. */
  segments: Segment[];
  /** Samples of the whole dataset dropped this epoch (the same for every rank to compute). */
  dropped: number;
}

export class DatasetTooSmallError extends Error {
  override readonly name = "DatasetTooSmallError";
}

export function planEpoch(p: PlanInput): EpochPlan {
  const { shardSamples, seed, epoch, rank, worldSize, batchSize } = p;
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`worldSize ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new RangeError(`rank ${rank} of ${worldSize}`);
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize ${batchSize}`);
  const total = shardSamples.reduce((n, s) => n + s, 0);
  const perRank = Math.floor(total / (worldSize * batchSize)) * batchSize;
  if (perRank === 0) {
    throw new DatasetTooSmallError(
      `the dataset has ${total} samples; ${worldSize} worker(s) × batch ${batchSize} need at least ${worldSize * batchSize}`,
    );
  }
  const order = permutation(shardSamples.length, new Prng("shards", seed, epoch));
  const start = rank * perRank;
  const end = start + perRank;
  const segments: Segment[] = [];
  let offset = 0;
  for (const shard of order) {
    const n = shardSamples[shard]!;
    const lo = Math.max(start, offset);
    const hi = Math.min(end, offset + n);
    if (lo < hi) segments.push({ shard, from: lo - offset, to: hi - offset });
    offset += n;
    if (offset >= end) break;
  }
  return {
    epoch,
    perRank,
    batchesPerEpoch: perRank / batchSize,
    segments,
    dropped: total - perRank * worldSize,
  };
}

/** The order inside window `w` (positions w·window … of this rank's range); `length` is the window's size. */
export function windowOrder(seed: number, epoch: number, rank: number, w: number, length: number): number[] {
  return permutation(length, new Prng("window", seed, epoch, rank, w));
}

export interface SampleRef {
  shard: number;
  index: number;
}

/** This rank's whole epoch as (shard, index) pairs in consumption order — what the reader yields, without reading. */
export function epochOrder(p: PlanInput, window: number): SampleRef[] {
  const plan = planEpoch(p);
  const flat: SampleRef[] = [];
  for (const s of plan.segments) for (let i = s.from; i < s.to; i++) flat.push({ shard: s.shard, index: i });
  const out: SampleRef[] = [];
  for (let w = 0; w * window < flat.length; w++) {
    const chunk = flat.slice(w * window, (w + 1) * window);
    for (const j of windowOrder(p.seed, p.epoch, p.rank, w, chunk.length)) out.push(chunk[j]!);
  }
  return out;
}
