// One Gatys et al. baseline: a single optimisation of the photo to the
// largest requested count, its loss recorded on the way at each smaller one
// (an L-BFGS trajectory does not depend on where it will stop, so one run to
// 500 gives the losses at 50, 100, 200 and 500).
import { availableParallelism, cpus } from "node:os";
import type { LossProblem } from "../../trainer/gatys/loss-problem.js";
import { optimizeImage } from "../../trainer/gatys/optimize-image.js";
import type { BaselineEntry, BaselineKey, Checkpoint } from "./baselines.js";
import type { BenchPhoto } from "./photos.js";
import type { PhotoLoss } from "./photo-loss.js";

export interface BaselineRun {
  problem: LossProblem;
  photo: BenchPhoto;
  loss: PhotoLoss;
  key: BaselineKey;
  styleName: string;
  /** Ascending. */
  counts: readonly number[];
  threads: number;
  /** Called at each recorded count. */
  onCheckpoint?: (checkpoint: Checkpoint) => void;
  /** Called every PROGRESS_EVERY iterations between them (a run to 500 at 256 px takes long). */
  onProgress?: (iterations: number, seconds: number) => void;
}

export const PROGRESS_EVERY = 10;

export async function runGatysBaseline(run: BaselineRun): Promise<BaselineEntry> {
  const { key, counts } = run;
  const checkpoints: Checkpoint[] = [];
  const record = (checkpoint: Checkpoint): void => {
    checkpoints.push(checkpoint);
    run.onCheckpoint?.(checkpoint);
  };
  const result = await optimizeImage({
    ...run.problem,
    content: run.photo.content,
    evaluate: run.loss.evaluate,
    method: key.method,
    init: key.init,
    seed: key.seed,
    iterations: counts.at(-1)!,
    onIteration: (iterations, loss, seconds) => {
      if (counts.includes(iterations)) record({ iterations, loss, seconds });
      else if (iterations > 0 && iterations % PROGRESS_EVERY === 0) run.onProgress?.(iterations, seconds);
    },
  });
  // L-BFGS stops early when no step along its direction lowers the loss:
  // that final loss is the loss at every larger count.
  const stoppedAt = result.iterations < counts.at(-1)! ? result.iterations : null;
  if (stoppedAt !== null && checkpoints.at(-1)?.iterations !== stoppedAt)
    record({ iterations: stoppedAt, loss: result.loss, seconds: result.seconds });
  return {
    key,
    styleName: run.styleName,
    checkpoints,
    stoppedAt,
    recordedAt: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model.trim() ?? "unknown",
      cores: availableParallelism(),
      threads: run.threads,
    },
  };
}
