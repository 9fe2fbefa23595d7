import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { learningRateAt } from "../../../trainer/optimizer/learning-rate-schedule.js";

const base = { learningRate: 1e-3, minLearningRate: 1e-5, iterations: 101 };

describe("learningRateAt", () => {
  it("is the paper's constant rate by default", () => {
    for (const step of [1, 50, 101, 500])
      assert.equal(learningRateAt(step, { ...base, learningRateSchedule: "constant" }), 1e-3);
  });

  it("anneals by a cosine from learningRate at step 1 to minLearningRate at the last step", () => {
    const cosine = { ...base, learningRateSchedule: "cosine" as const };
    assert.equal(learningRateAt(1, cosine), 1e-3);
    // Halfway (t = 50 of T = 100) the cosine is 0: the mean of the two ends.
    assert.ok(Math.abs(learningRateAt(51, cosine) - (1e-3 + 1e-5) / 2) < 1e-15);
    assert.ok(Math.abs(learningRateAt(101, cosine) - 1e-5) < 1e-15);
    // Past the last iteration (a spec whose iterations were raised later) it stays at the minimum.
    assert.ok(Math.abs(learningRateAt(150, cosine) - 1e-5) < 1e-15);
    for (let step = 2; step <= 101; step++)
      assert.ok(learningRateAt(step, cosine) < learningRateAt(step - 1, cosine), `step ${step} decreases`);
  });

  it("matches PyTorch's CosineAnnealingLR values", () => {
    // torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=4, eta_min=0) with lr 1.0: 1, 0.8536, 0.5, 0.1464, 0.
    const torch = [1, 0.8535533905932737, 0.5, 0.14644660940672624, 0];
    const schedule = {
      learningRate: 1,
      minLearningRate: 0,
      iterations: 5,
      learningRateSchedule: "cosine" as const,
    };
    torch.forEach((lr, i) =>
      assert.ok(Math.abs(learningRateAt(i + 1, schedule) - lr) < 1e-12, `step ${i + 1}`),
    );
  });

  it("refuses step 0", () => {
    assert.throws(() => learningRateAt(0, { ...base, learningRateSchedule: "constant" }), RangeError);
  });
});
