// The learning rate of each optimiser step. The paper trains at a constant
// 1e-3; the cosine schedule is PyTorch's CosineAnnealingLR over one cycle of
// `iterations` steps, so a user of torch.optim.lr_scheduler gets the numbers
// they expect. The rate is a pure function of the step, which keeps resumed
// runs exact: a checkpoint needs to store nothing for it.
import type { Hyperparameters } from "../../common/api/index.js";

export type LearningRateSchedule = Pick<
  Hyperparameters,
  "learningRate" | "learningRateSchedule" | "minLearningRate" | "iterations"
>;

/** The learning rate of step `step` (1-based: the first optimiser step is step 1). */
export function learningRateAt(step: number, schedule: LearningRateSchedule): number {
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`step must be an integer ≥ 1, got ${step}`);
  switch (schedule.learningRateSchedule) {
    case "constant":
      return schedule.learningRate;
    case "cosine":
      return cosineAnnealing(step, schedule);
  }
}

/**
 * η_t = η_min + (η_max − η_min)·(1 + cos(π·t / T))/2 with t = step − 1 and
 * T = iterations − 1, so step 1 runs at learningRate and the last step at
 * minLearningRate (PyTorch's CosineAnnealingLR with T_max = iterations − 1).
 */
function cosineAnnealing(step: number, s: LearningRateSchedule): number {
  const span = Math.max(1, s.iterations - 1);
  const t = Math.min(step - 1, span);
  return (
    s.minLearningRate + ((s.learningRate - s.minLearningRate) * (1 + Math.cos((Math.PI * t) / span))) / 2
  );
}
