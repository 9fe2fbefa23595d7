// The trainer's data source: this rank's share of a packed dataset (see
// plan.ts for who reads what), decoded ahead of compute into Float32
// batches [batch, H, W, 3] of RGB 0–255.
//
// Pipeline, each stage bounded:
//   shard streams → windows of encoded JPEGs (the next window is fetched
//   while the current one is decoded) → permuted within the window →
//   decoded `decodeConcurrency` at a time → batches → `prefetchBatches`
//   ready batches waiting for the trainer.
//
// The cursor {epoch, position, seed, …} names the next sample to consume. It
// advances when a batch is handed to the trainer (not when it is prefetched),
// so a checkpoint taken after step k resumes at batch k + 1 exactly. All
// ranks consume the same number of samples per epoch, so rank 0's cursor —
// the one checkpoints save — is every rank's cursor.
import { availableParallelism } from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { z } from "zod";
import type { StyleTrainingSpec } from "../../common/api/index.js";
import { createLogger, type Logger } from "../../common/log/logger.js";
import type { ObjectStore } from "../../common/storage/index.js";
import type { Batch, BatchSource } from "../batch-source.js";
import { mapOrdered, readahead } from "./async.js";
import { readDatasetIndex, type DatasetIndex, type ShardInfo } from "./format.js";
import { decodeSample } from "./image.js";
import { planEpoch, windowOrder, type EpochPlan } from "./plan.js";
import { readShard, type ShardSample } from "./tar.js";

export const DataCursorSchema = z.object({
  epoch: z.int().min(0),
  /** Samples this rank has consumed in `epoch` (a multiple of batchSize). */
  position: z.int().min(0),
  seed: z.int(),
  /** The split depends on these; a cursor cannot be continued under different ones. */
  worldSize: z.int().min(1),
  batchSize: z.int().min(1),
});
export type DataCursor = z.infer<typeof DataCursorSchema>;

export const DEFAULT_SHUFFLE_WINDOW = 1024;
export const DEFAULT_PREFETCH_BATCHES = 4;

export interface ShardedReaderOptions {
  store: ObjectStore;
  /** Dataset prefix (where index.json is). */
  prefix: string;
  rank: number;
  worldSize: number;
  batchSize: number;
  /** Data-order seed; ignored when `cursor` is given (the cursor's seed wins, so a resume continues the same order). */
  seed?: number;
  /** Output side; default the packed size. Other sizes are resized on decode. */
  imageSize?: number;
  cursor?: DataCursor;
  /** Samples shuffled together within this rank's range (default 1024; memory: that many JPEGs, twice). */
  shuffleWindow?: number;
  /** Decoded batches kept ready ahead of the trainer (default 4). */
  prefetchBatches?: number;
  /** Images decoded at once (default: CPU count). */
  decodeConcurrency?: number;
  /** An index already read (e.g. to share one read between readers). */
  index?: DatasetIndex;
  /** Re-requests of a shard whose body failed mid-stream (default 3). */
  readRetries?: number;
  logger?: Logger;
}

/** A batch plus where it sits in the data order. */
export interface ReaderBatch extends Batch {
  epoch: number;
  /** Samples of `epoch` this rank has consumed once this batch is taken. */
  position: number;
  /** Sample keys in batch order (tar member names without `.jpg`). */
  keys: string[];
}

interface Encoded {
  key: string;
  bytes: Buffer;
  epoch: number;
  position: number;
}

export class ShardedReader implements BatchSource {
  readonly index: DatasetIndex;
  readonly imageSize: number;
  readonly batchSize: number;
  readonly batchesPerEpoch: number;
  #cursor: DataCursor;
  readonly #batches: AsyncGenerator<ReaderBatch>;
  readonly #abort = new AbortController();
  #closed = false;

  private constructor(
    index: DatasetIndex,
    o: Required<Omit<ShardedReaderOptions, "cursor" | "index" | "seed">> & { cursor: DataCursor },
  ) {
    this.index = index;
    this.imageSize = o.imageSize;
    this.batchSize = o.batchSize;
    const shardSamples = index.shards.map((s) => s.samples);
    const planFor = (epoch: number): EpochPlan =>
      planEpoch({
        shardSamples,
        seed: o.cursor.seed,
        epoch,
        rank: o.rank,
        worldSize: o.worldSize,
        batchSize: o.batchSize,
      });
    const first = planFor(o.cursor.epoch);
    this.batchesPerEpoch = first.batchesPerEpoch;
    if (o.cursor.position > first.perRank || o.cursor.position % o.batchSize !== 0) {
      throw new RangeError(
        `cursor position ${o.cursor.position} is not a batch boundary within the epoch's ${first.perRank} samples`,
      );
    }
    this.#cursor = normalise({ ...o.cursor }, first.perRank);
    const log = o.logger;
    const signal = this.#abort.signal;
    const shards = index.shards;
    const cursor0 = { ...this.#cursor };

    async function* encoded(): AsyncGenerator<Encoded> {
      for (let epoch = cursor0.epoch; ; epoch++) {
        const plan = epoch === first.epoch ? first : planFor(epoch);
        const start = epoch === cursor0.epoch ? cursor0.position : 0;
        log.debug({ epoch, start, segments: plan.segments.length }, "epoch plan");
        const firstWindow = Math.floor(start / o.shuffleWindow);
        const windows = readahead(windowsOf(plan, firstWindow), 1);
        for await (const win of windows) {
          const order = windowOrder(cursor0.seed, epoch, o.rank, win.w, win.samples.length);
          for (let j = 0; j < order.length; j++) {
            const position = win.w * o.shuffleWindow + j;
            if (position < start) continue; // resumed mid-window: skipped without decoding
            const s = win.samples[order[j]!]!;
            yield { key: s.key, bytes: s.bytes, epoch, position: position + 1 };
          }
        }
      }
    }

    // This rank's range, from window `firstWindow` on, as windows of encoded samples in range order.
    async function* windowsOf(
      plan: EpochPlan,
      firstWindow: number,
    ): AsyncGenerator<{ w: number; samples: ShardSample[] }> {
      let skip = firstWindow * o.shuffleWindow;
      let w = firstWindow;
      let current: ShardSample[] = [];
      for (const seg of plan.segments) {
        const len = seg.to - seg.from;
        if (skip >= len) {
          skip -= len;
          continue;
        }
        for await (const s of shardSamples_(shards[seg.shard]!, seg.from + skip, seg.to)) {
          current.push(s);
          if (current.length === o.shuffleWindow) {
            yield { w: w++, samples: current };
            current = [];
          }
        }
        skip = 0;
      }
      if (current.length > 0) yield { w, samples: current };
    }

    // One shard's samples [from, to); a body that fails mid-stream is re-requested from where it stopped.
    async function* shardSamples_(shard: ShardInfo, from: number, to: number): AsyncGenerator<ShardSample> {
      let next = from;
      for (let attempt = 0; ; attempt++) {
        try {
          const stream = await o.store.get(shard.uri, { signal });
          for await (const s of readShard(stream, next, to)) {
            next = s.index + 1;
            yield s;
          }
          if (next < to)
            throw new ShardIntegrityError(
              `${shard.uri}: ended after ${next} samples; the index says ${shard.samples}`,
            );
          return;
        } catch (e) {
          if (e instanceof ShardIntegrityError || signal.aborted || attempt >= o.readRetries) throw e;
          log.warn(
            { shard: shard.name, at: next, attempt: attempt + 1, err: (e as Error).message },
            "shard read failed; retrying",
          );
          await sleep(200 * 2 ** attempt);
        }
      }
    }

    const size = o.imageSize;
    const pixels = size * size * 3;
    const decoded = mapOrdered(encoded(), o.decodeConcurrency, async (s) => ({
      ...s,
      rgb: await decodeSample(s.bytes, size).catch((e: unknown) => {
        throw new Error(`sample ${s.key}: ${(e as Error).message}`);
      }),
    }));

    async function* batches(): AsyncGenerator<ReaderBatch> {
      let data = new Float32Array(o.batchSize * pixels);
      let keys: string[] = [];
      for await (const s of decoded) {
        data.set(s.rgb, keys.length * pixels); // Uint8 → Float32, values 0–255
        keys.push(s.key);
        if (keys.length === o.batchSize) {
          yield { data, shape: [o.batchSize, size, size, 3], epoch: s.epoch, position: s.position, keys };
          data = new Float32Array(o.batchSize * pixels);
          keys = [];
        }
      }
    }
    this.#batches = readahead(batches(), o.prefetchBatches);
    this.#perRank = (epoch: number) => (epoch === first.epoch ? first.perRank : planFor(epoch).perRank);
  }

  readonly #perRank: (epoch: number) => number;

  static async open(options: ShardedReaderOptions): Promise<ShardedReader> {
    const index = options.index ?? (await readDatasetIndex(options.store, options.prefix));
    const seed = options.cursor?.seed ?? options.seed ?? 0;
    const log = (options.logger ?? createLogger("data")).child({ rank: options.rank });
    if (options.cursor) {
      const c = DataCursorSchema.parse(options.cursor);
      if (c.worldSize !== options.worldSize || c.batchSize !== options.batchSize) {
        throw new Error(
          `the data cursor was saved with ${c.worldSize} worker(s) × batch ${c.batchSize}; this run has ${options.worldSize} × ${options.batchSize}. ` +
            "A resumed run must keep workers and batch size (or start from a fresh cursor).",
        );
      }
      if (options.seed !== undefined && options.seed !== c.seed)
        log.warn(
          { cursorSeed: c.seed, seed: options.seed },
          "continuing the checkpoint's data order (its seed)",
        );
    }
    const cursor: DataCursor = options.cursor ?? {
      epoch: 0,
      position: 0,
      seed,
      worldSize: options.worldSize,
      batchSize: options.batchSize,
    };
    return new ShardedReader(index, {
      store: options.store,
      prefix: options.prefix,
      rank: options.rank,
      worldSize: options.worldSize,
      batchSize: options.batchSize,
      imageSize: options.imageSize ?? index.imageSize,
      cursor,
      shuffleWindow: options.shuffleWindow ?? DEFAULT_SHUFFLE_WINDOW,
      prefetchBatches: options.prefetchBatches ?? DEFAULT_PREFETCH_BATCHES,
      decodeConcurrency: options.decodeConcurrency ?? availableParallelism(),
      readRetries: options.readRetries ?? 3,
      logger: log,
    });
  }

  /** The next batch; epochs follow one another without end (the trainer counts steps). */
  async next(): Promise<ReaderBatch> {
    if (this.#closed) throw new Error("reader is closed");
    const r = await this.#batches.next();
    if (r.done) throw new Error("internal: the batch stream ended");
    const b = r.value;
    this.#cursor = normalise(
      { ...this.#cursor, epoch: b.epoch, position: b.position },
      this.#perRank(b.epoch),
    );
    return b;
  }

  /** Where the next batch starts; save it with the checkpoint. */
  cursor(): DataCursor {
    return { ...this.#cursor };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    await this.#batches.return(undefined).catch(() => undefined);
  }
}

class ShardIntegrityError extends Error {
  override readonly name = "ShardIntegrityError";
}

/** An epoch's end is the next epoch's start: one canonical cursor for it. */
function normalise(c: DataCursor, perRank: number): DataCursor {
  return c.position >= perRank ? { ...c, epoch: c.epoch + 1, position: 0 } : c;
}

/**
 * `WorkerDeps.openBatches` for trainer/worker.ts: this rank's batches of the
 * spec's dataset, continuing from a checkpoint's cursor when given.
 */
export async function openDatasetBatches(args: {
  store: ObjectStore;
  spec: StyleTrainingSpec;
  rank: number;
  worldSize: number;
  cursor: unknown;
}): Promise<ShardedReader> {
  const hp = args.spec.hyperparameters;
  return ShardedReader.open({
    store: args.store,
    prefix: args.spec.dataset,
    rank: args.rank,
    worldSize: args.worldSize,
    batchSize: hp.batchSize,
    seed: hp.seed,
    imageSize: hp.imageSize,
    ...(args.cursor === undefined || args.cursor === null
      ? {}
      : { cursor: DataCursorSchema.parse(args.cursor) }),
  });
}
