import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../trainer/engine/engines.js";
import {
  flattenTensors,
  readNamed,
  assignNamed,
  unflattenTensors,
} from "../../../model/parameters.js";
import { transformerNetParameterCount } from "../../../model/architecture.js";
import { TransformerNet } from "../../../model/transformer-net.js";

/**
 * Trainable parameters, by hand (conv: k·k·Cin·Cout weights + Cout biases;
 * norm: γ and β per channel):
 *   c9s1-32   9·9·3·32    + 32  = 7 808,  norm 64   →     7 872
 *   d64       3·3·32·64   + 64  = 18 496, norm 128  →    18 624
 *   d128      3·3·64·128  + 128 = 73 856, norm 256  →    74 112
 *   5 × R128  2 × (3·3·128·128 + 128 + 256) = 295 680 → 1 478 400
 *   u64       3·3·128·64  + 64  = 73 792, norm 128  →    73 920
 *   u32       3·3·64·32   + 32  = 18 464, norm 64   →    18 528
 *   c9s1-3    9·9·32·3    + 3                       →     7 779
 *   total                                             1 679 235  (paper: "about 1.68 M")
 */
const PAPER_PARAMETER_COUNT = 1_679_235;

describe("TransformerNet", () => {
  before(async () => {
    await initEngine("cpu");
  });

  it("has the paper's parameter count in every configuration", () => {
    assert.equal(transformerNetParameterCount(), PAPER_PARAMETER_COUNT);
    for (const normalization of ["instance", "batch"] as const) {
      for (const upsampling of ["transpose", "upsample-conv"] as const) {
        const net = new TransformerNet({ normalization, upsampling });
        assert.equal(net.parameterCount(), PAPER_PARAMETER_COUNT, `${normalization}/${upsampling}`);
        // Batch norm keeps running mean and variance as state, not parameters:
        // 2 × (32 + 64 + 128 + 10·128 + 64 + 32) = 3 200 values.
        assert.equal(
          [...net.buffers.values()].reduce((n, b) => n + b.size, 0),
          normalization === "batch" ? 3200 : 0,
        );
        net.dispose();
      }
    }
  });

  it("names parameters in forward order", () => {
    const net = new TransformerNet();
    const names = [...net.params.keys()];
    assert.deepEqual(names.slice(0, 4), [
      "conv1.conv.weight",
      "conv1.conv.bias",
      "conv1.norm.gamma",
      "conv1.norm.beta",
    ]);
    assert.deepEqual(names.slice(-2), ["out.conv.weight", "out.conv.bias"]);
    assert.equal(names.length, 4 * 5 + 4 * 10 + 2); // 5 conv+norm stages, 10 res convs+norms, output conv
    assert.deepEqual(net.params.get("res3.conv2.weight")?.shape, [3, 3, 128, 128]);
    net.dispose();
  });

  for (const [normalization, upsampling] of [
    ["instance", "upsample-conv"],
    ["batch", "transpose"],
  ] as const) {
    it(`maps 1×64×64×3 to 1×64×64×3 in [0, 255] (${normalization}, ${upsampling})`, () => {
      const net = new TransformerNet({ normalization, upsampling, seed: 7 });
      const x = tf.randomUniform([1, 64, 64, 3], 0, 255, "float32", 1) as tf.Tensor4D;
      const y = net.apply(x, { training: true });
      assert.deepEqual(y.shape, [1, 64, 64, 3]);
      const v = y.dataSync();
      let lo = Infinity;
      let hi = -Infinity;
      for (const p of v) {
        lo = Math.min(lo, p);
        hi = Math.max(hi, p);
      }
      assert.ok(lo >= 0 && hi <= 255, `range [${lo}, ${hi}]`);
      assert.ok(hi > lo, "output is not constant");
      tf.dispose([x, y]);
      net.dispose();
    });
  }

  it("is fully convolutional: 12×20 in, 12×20 out; refuses sizes that are not multiples of 4", () => {
    const net = new TransformerNet();
    const y = net.apply(tf.zeros([2, 12, 20, 3]) as tf.Tensor4D);
    assert.deepEqual(y.shape, [2, 12, 20, 3]);
    assert.throws(() => net.apply(tf.zeros([1, 10, 12, 3]) as tf.Tensor4D), /multiples of 4/);
    net.dispose();
  });

  it("initialises identically from the same seed and differently from another", async () => {
    const a = new TransformerNet({ seed: 5 });
    const b = new TransformerNet({ seed: 5 });
    const c = new TransformerNet({ seed: 6 });
    const fa = await flattenTensors(a.params);
    assert.deepEqual(fa, await flattenTensors(b.params));
    assert.notDeepEqual(fa, await flattenTensors(c.params));
    [a, b, c].forEach((n) => n.dispose());
  });

  it("flattens to one buffer and back, and saves/loads by name", async () => {
    const a = new TransformerNet({ seed: 1 });
    const b = new TransformerNet({ seed: 2 });
    const flat = await flattenTensors(a.params);
    assert.equal(flat.length, PAPER_PARAMETER_COUNT);
    const back = unflattenTensors(flat, a.params);
    assert.deepEqual([...back.keys()], [...a.params.keys()]);
    assert.deepEqual(
      back.get("res1.conv1.weight")?.dataSync(),
      a.params.get("res1.conv1.weight")?.dataSync(),
    );
    assignNamed(b.params, await readNamed(a.params));
    assert.deepEqual(await flattenTensors(b.params), flat);
    const wrong = await readNamed(a.params);
    wrong.set("conv1.conv.bias", { shape: [3], data: new Float32Array(3) });
    assert.throws(() => assignNamed(b.params, wrong), /conv1\.conv\.bias: shape \[3\]/);
    wrong.delete("conv1.conv.bias");
    assert.throws(() => assignNamed(b.params, wrong), /no value for parameter conv1\.conv\.bias/);
    tf.dispose([...back.values()]);
    a.dispose();
    b.dispose();
  });

  it("batch norm updates its running statistics only in training mode", () => {
    const net = new TransformerNet({ normalization: "batch" });
    const mean = (): number[] => [...(net.buffers.get("conv1.norm.runningMean")?.dataSync() ?? [])];
    const before = mean();
    net.apply(tf.randomUniform([2, 8, 8, 3], 0, 255) as tf.Tensor4D, { training: false });
    assert.deepEqual(mean(), before);
    net.apply(tf.randomUniform([2, 8, 8, 3], 0, 255) as tf.Tensor4D, { training: true });
    assert.notDeepEqual(mean(), before);
    net.dispose();
  });
});
