import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { mulberry32 } from "../../../common/mulberry32.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { optimizeImage } from "../../../trainer/gatys/optimize-image.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import type { Vgg16 } from "../../../trainer/loss-network/vgg16.js";
import { computeStyleTargets, type StyleTargets } from "../../../trainer/losses/index.js";

const SIZE = 16;
const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2"] } as const;

function randomImage(seed: number): tf.Tensor4D {
  const rand = mulberry32(seed);
  return tf.tensor4d(
    Float32Array.from({ length: SIZE * SIZE * 3 }, () => rand() * 255),
    [1, SIZE, SIZE, 3],
  );
}

describe("Gatys et al.'s optimisation (trainer/gatys/optimize-image.ts)", () => {
  let vgg: Vgg16;
  let content: tf.Tensor4D;
  let targets: StyleTargets;
  before(async () => {
    await initEngine("cpu");
    vgg = await loadVgg16({ random: true, seed: 3 });
    content = randomImage(1);
    const style = randomImage(2);
    targets = computeStyleTargets(vgg, style, layers.style);
    style.dispose();
  });

  for (const method of ["lbfgs", "adam"] as const) {
    it(`${method}: lowers the loss, reports every iteration and keeps pixels in [0, 255]`, async () => {
      const seen: { iteration: number; total: number }[] = [];
      const result = await optimizeImage({
        vgg,
        content,
        styleTargets: targets,
        layers,
        weights: { content: 1, style: 1e-3, tv: 1e-4 },
        method,
        iterations: 6,
        learningRate: 1,
        onIteration: (iteration, loss) => seen.push({ iteration, total: loss.total }),
      });
      assert.equal(result.iterations, 6);
      assert.deepEqual(
        seen.map((s) => s.iteration),
        [0, 1, 2, 3, 4, 5, 6],
      );
      const first = seen[0]!.total;
      assert.ok(result.loss.total < first, `loss ${first} → ${result.loss.total}`);
      assert.equal(result.image.length, SIZE * SIZE * 3);
      assert.ok(result.image.every((v) => v >= 0 && v <= 255));
    });
  }

  it("L-BFGS never increases the loss (backtracking)", async () => {
    const totals: number[] = [];
    await optimizeImage({
      vgg,
      content,
      styleTargets: targets,
      layers,
      weights: { content: 1, style: 1e-3, tv: 1e-4 },
      method: "lbfgs",
      iterations: 5,
      onIteration: (_, loss) => totals.push(loss.total),
    });
    for (let i = 1; i < totals.length; i++) assert.ok(totals[i]! <= totals[i - 1]!, `${totals.join(" → ")}`);
  });
});
