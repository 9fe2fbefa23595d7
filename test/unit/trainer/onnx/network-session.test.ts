// The onnxruntime engine's previews: the network's current weights as an ONNX
// Runtime session give the same picture as tfjs's inference on the cpu engine.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { TransformerNet } from "../../../../model/transformer-net.js";
import { initEngine } from "../../../../trainer/engine/engines.js";
import { NetworkSession } from "../../../../trainer/onnx/network-session.js";
import { stylisePreview } from "../../../../trainer/previews/write-previews.js";

/** 8-bit outputs of two float32 computations: rounding may flip a level where a value sits on .5. */
const MAX_LEVEL_DIFFERENCE = 2;

function photo(width: number, height: number) {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (i * 37 + (i % 7) * 11) % 256;
  return { width, height, data };
}

describe("NetworkSession (previews on the onnxruntime engine)", () => {
  before(async () => {
    await initEngine("cpu");
  });

  for (const normalization of ["instance", "batch"] as const) {
    it(`stylises like tfjs on the cpu engine (${normalization} norm, 20×16 photo)`, async () => {
      const net = new TransformerNet({ normalization, seed: 13 });
      const rgb = photo(20, 16);
      const want = await stylisePreview(net, rgb);
      const session = await NetworkSession.snapshot(net, { provider: "cpu", threads: 1 });
      try {
        const got = await session.stylise(rgb);
        assert.deepEqual([got.width, got.height, got.data.length], [20, 16, want.data.length]);
        let worst = 0;
        const distinct = new Set<number>();
        for (let i = 0; i < want.data.length; i++) {
          worst = Math.max(worst, Math.abs(want.data[i]! - got.data[i]!));
          distinct.add(got.data[i]!);
        }
        assert.ok(worst <= MAX_LEVEL_DIFFERENCE, `off by ${worst} levels`);
        // Not a vacuous match: an untrained batch-norm network saturates much of
        // its tanh, but its output still varies across the photo.
        assert.ok(distinct.size > 2, `the output is nearly constant (${distinct.size} distinct values)`);
      } finally {
        await session.release();
        net.dispose();
      }
    });
  }
});
