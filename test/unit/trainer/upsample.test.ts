import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../trainer/engine/engines.js";
import { upsampleNearest2x } from "../../../model/layers.js";

/** Gradient of Σ(up(x)·w) with respect to x, for the whole batch and per image. */
function batchConsistency(up: (x: tf.Tensor4D) => tf.Tensor4D): number[] {
  const x = tf.randomNormal([2, 4, 4, 3], 0, 1, "float32", 1) as tf.Tensor4D;
  const w = tf.randomNormal([2, 8, 8, 3], 0, 1, "float32", 2);
  const grad = (xs: tf.Tensor4D, ws: tf.Tensor) =>
    tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(up(xx as tf.Tensor4D), ws)))(xs);
  const both = grad(x, w);
  return [0, 1].map((i) => {
    const single = grad(
      x.slice([i, 0, 0, 0], [1, 4, 4, 3]) as tf.Tensor4D,
      w.slice([i, 0, 0, 0], [1, 8, 8, 3]),
    );
    return tf.norm(tf.sub(both.slice([i, 0, 0, 0], [1, 4, 4, 3]), single)).dataSync()[0]!;
  });
}

describe("nearest-neighbour ×2 upsampling", () => {
  before(async () => {
    await initEngine("cpu");
  });

  it("gives exactly resizeNearestNeighbor's values", () => {
    const x = tf.randomNormal([2, 3, 5, 4], 0, 1, "float32", 7) as tf.Tensor4D;
    assert.deepEqual(upsampleNearest2x(x).dataSync(), tf.image.resizeNearestNeighbor(x, [6, 10]).dataSync());
  });

  it("gives each input pixel the sum of the gradients of its 2×2 block", () => {
    const x = tf.randomNormal([2, 3, 5, 4], 0, 1, "float32", 8) as tf.Tensor4D;
    const dy = tf.randomNormal([2, 6, 10, 4], 0, 1, "float32", 9);
    const dx = tf.grad((xx: tf.Tensor) => upsampleNearest2x(xx as tf.Tensor4D))(x, dy);
    const d = dy.arraySync() as number[][][][];
    const got = dx.arraySync() as number[][][][];
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 5; j++)
          for (let c = 0; c < 4; c++) {
            const want =
              d[b]![2 * i]![2 * j]![c]! +
              d[b]![2 * i]![2 * j + 1]![c]! +
              d[b]![2 * i + 1]![2 * j]![c]! +
              d[b]![2 * i + 1]![2 * j + 1]![c]!;
            assert.ok(Math.abs(got[b]![i]![j]![c]! - want) < 1e-5, `dx[${b},${i},${j},${c}]`);
          }
  });

  it("has the same gradient for an image alone and inside a batch", () => {
    assert.deepEqual(batchConsistency(upsampleNearest2x), [0, 0]);
  });
});
