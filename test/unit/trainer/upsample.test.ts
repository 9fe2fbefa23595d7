import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../trainer/engine/engines.js";
import { upsampleNearest2x } from "../../../trainer/model/layers.js";

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

  it("has the same gradient for an image alone and inside a batch", () => {
    assert.deepEqual(batchConsistency(upsampleNearest2x), [0, 0]);
  });
});
