// The backend-generic Conv2DBackpropFilter (trainer/engine/gemm-backprop-filter.ts),
// composed from the cpu backend's own kernels, against the cpu reference kernel:
// strides 1–3, every padding mode, 1×1 … 9×9 filters, and tap groups forced
// small so the grouping and concatenation paths run.
import assert from "node:assert/strict";
import { before, describe, it, test } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { stockConv2DBackpropFilter } from "../../../trainer/engine/cpu-kernels.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { gemmConv2DBackpropFilter, reductionSplits } from "../../../trainer/engine/gemm-backprop-filter.js";
import { CONV_CASES, type ConvCase, det } from "../../support/conv-cases.js";

// The shared cases plus two long enough (≥ 512 output positions) for the reduction to be split.
const CASES: readonly ConvCase[] = [
  ...CONV_CASES,
  { x: [2, 24, 24, 3], f: [3, 3, 3, 4], s: 1, pad: "same" },
  { x: [1, 40, 36, 2], f: [9, 9, 2, 3], s: 1, pad: 4 },
];

test("the long cases are split into slices", () => {
  // 2·24·24 = 1152 positions → 4 slices of 288; 40·36 = 1440 → 4 of 360.
  assert.equal(reductionSplits(1152, 27, 4, 64), 4);
  assert.equal(reductionSplits(1440, 162, 3, 64), 4);
});

describe("GEMM Conv2DBackpropFilter (backend-generic)", () => {
  before(async () => {
    await initEngine("cpu");
  });

  for (const [budget, targetTiles] of [
    [undefined, 1],
    [64, 1],
    [undefined, 64],
    [64, 64],
  ] as const) {
    const what = [
      budget === undefined ? "" : `tap groups of ≤ ${budget} floats`,
      targetTiles > 1 ? "reduction split into slices" : "",
    ].filter((w) => w !== "");
    it(`matches the reference kernel on every case${what.length > 0 ? ` (${what.join(", ")})` : ""}`, () => {
      const kernel = gemmConv2DBackpropFilter({ backendName: "cpu", colsBudgetFloats: budget, targetTiles });
      const reference = stockConv2DBackpropFilter();
      assert.ok(reference, "the cpu reference kernel is kept");
      const backend = tf.backend();
      for (const c of CASES) {
        const x = det(c.x, 1) as tf.Tensor4D;
        const y = tf.conv2d(x, det(c.f, 2) as tf.Tensor4D, c.s, c.pad);
        const dy = det(y.shape, 3);
        const attrs = { strides: c.s, pad: c.pad, dataFormat: "NHWC", filterShape: c.f };
        const before = tf.memory().numTensors;
        const run = (f: NonNullable<typeof reference>): Float32Array => {
          const dataBefore = backend.numDataIds();
          const out = f({
            inputs: { x, dy },
            backend,
            attrs: attrs as unknown as tf.NamedAttrMap,
          }) as tf.TensorInfo;
          assert.deepEqual(out.shape, c.f, `${JSON.stringify(c)}: output shape`);
          const t = tf.engine().makeTensorFromTensorInfo(out);
          const v = t.dataSync() as Float32Array;
          t.dispose();
          // Intermediates are backend data, not tensors: count those.
          assert.equal(backend.numDataIds(), dataBefore, `${JSON.stringify(c)}: backend data left behind`);
          return v;
        };
        const got = run(kernel);
        const want = run(reference);
        let diff = 0;
        let scale = 0;
        for (let i = 0; i < want.length; i++) {
          diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
          scale = Math.max(scale, Math.abs(want[i] as number));
        }
        assert.ok(diff / scale < 1e-5, `${JSON.stringify(c)}: relative error ${diff / scale}`);
        tf.dispose([x, y, dy]);
        assert.equal(tf.memory().numTensors, before - 3, `${JSON.stringify(c)}: no tensor leaked`);
      }
    });
  }

  it("splits a long reduction into power-of-two slices of at least 256 positions", () => {
    assert.equal(
      reductionSplits(262144, 243, 32, 1024),
      128,
      "9×9×3 → 32 at 256², batch 4: 8 tiles × 128 slices",
    );
    assert.equal(
      reductionSplits(16384, 1152, 128, 1024),
      8,
      "res-block conv at 64², batch 4: 144 tiles × 8 slices",
    );
    assert.equal(reductionSplits(1024, 64, 64, 1024), 4, "slices stop at 256 positions");
    assert.equal(reductionSplits(1000, 64, 64, 1024), 2, "1000 → 2 × 500; 4 × 250 would be below 256");
    assert.equal(reductionSplits(999, 64, 64, 1024), 1, "an odd count is not split");
  });

  it("leaves no backend data behind (every intermediate freed)", () => {
    const kernel = gemmConv2DBackpropFilter({ backendName: "cpu", colsBudgetFloats: 64, targetTiles: 64 });
    const backend = tf.backend();
    const x = det([2, 10, 10, 4], 4) as tf.Tensor4D;
    const dy = det([2, 8, 8, 6], 5);
    const attrs = { strides: 1, pad: "valid", dataFormat: "NHWC", filterShape: [3, 3, 4, 6] };
    const before = backend.numDataIds();
    const out = kernel({
      inputs: { x, dy },
      backend,
      attrs: attrs as unknown as tf.NamedAttrMap,
    }) as tf.TensorInfo;
    assert.equal(backend.numDataIds(), before + 1, "only the result remains");
    backend.disposeData(out.dataId);
    tf.dispose([x, dy]);
  });
});
