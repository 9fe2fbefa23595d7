// Strip inference (model/strip-inference.ts) against the whole-image
// forward pass: same output for every configuration of the network, with
// strips far smaller than the image (context rows, stride alignment,
// reflection at the image's own borders, whole-image instance-norm
// statistics), and engine memory that does not grow with the image.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initInferenceEngine } from "../../../model/engine/engines.js";
import { stylizeInStrips } from "../../../model/strip-inference.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { mulberry32 } from "../../../common/mulberry32.js";
import { syntheticPhoto } from "../../support/synthetic-photo.js";

async function whole(net: TransformerNet, data: Float32Array, h: number, w: number): Promise<Float32Array> {
  const x = tf.tensor4d(data, [1, h, w, 3]);
  const y = net.apply(x, { training: false });
  const values = (await y.data()) as Float32Array;
  x.dispose();
  y.dispose();
  return values;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

describe("strip inference", () => {
  before(async () => {
    await initInferenceEngine("wasm");
  });

  for (const normalization of ["instance", "batch"] as const) {
    for (const upsampling of ["upsample-conv", "transpose"] as const) {
      it(`gives the whole-image output in strips of 4 rows (${normalization}, ${upsampling})`, async () => {
        const net = new TransformerNet({ normalization, upsampling, seed: 3 });
        if (normalization === "batch") {
          // Running statistics away from 0/1, so that using them is checked.
          const random = mulberry32(9);
          for (const v of net.buffers.values()) {
            v.assign(tf.tensor1d(Array.from({ length: v.size }, () => 0.2 + random())));
          }
        }
        const [h, w] = [52, 36];
        const input = syntheticPhoto(h, w, 1);
        const expected = await whole(net, input, h, w);
        // 36 px wide × 4 rows: every layer in many strips.
        const got = await stylizeInStrips(net, { data: input, height: h, width: w, channels: 3 }, 36 * 4);
        assert.deepEqual([got.height, got.width, got.channels], [h, w, 3]);
        const diff = maxAbsDiff(got.data, expected);
        // float32 rounding only (statistics summed in another order): ≪ one 8-bit level.
        assert.ok(diff < 0.05, `max |strips − whole| = ${diff} of 255`);
        // No map held above 1 byte: conv1→down1 and up2→output run fused
        // (conv A recomputed per strip of conv B, statistics from a first pass).
        const fused = await stylizeInStrips(
          net,
          { data: input, height: h, width: w, channels: 3 },
          { maxStripPixels: 36 * 4, largestMapBytes: 1 },
        );
        const fusedDiff = maxAbsDiff(fused.data, expected);
        assert.ok(fusedDiff < 0.05, `max |fused strips − whole| = ${fusedDiff} of 255`);
        net.dispose();
      });
    }
  }

  it("holds one strip on the engine: its peak memory does not grow with the image", async () => {
    const net = new TransformerNet({ seed: 4 });
    const weights = tf.memory().numBytes;
    const peak = async (run: () => Promise<unknown>) =>
      (
        await tf.profile(async () => {
          await run();
          return [];
        })
      ).peakBytes - weights;
    const inStrips = (side: number) =>
      peak(() =>
        stylizeInStrips(
          net,
          { data: syntheticPhoto(side, side, 2), height: side, width: side, channels: 3 },
          4096,
        ),
      );
    // Once every layer is in strips (≥ 256² with 4096-pixel strips), the
    // engine's peak depends on the strip, not the image (measured: 14.8 MB
    // at 256², 14.5 MB at 384²).
    const medium = await inStrips(256);
    const large = await inStrips(384);
    const wholeMedium = await peak(() => whole(net, syntheticPhoto(256, 256, 2), 256, 256));
    assert.ok(large < medium * 1.2, `strip peak 256²: ${medium} B, 384²: ${large} B`);
    assert.ok(wholeMedium > medium * 4, `whole-image peak at 256²: ${wholeMedium} B vs strips ${medium} B`);
    net.dispose();
  });
});
