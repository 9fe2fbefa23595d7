import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { stockConv2DBackpropFilter } from "../../../trainer/engine/cpu-kernels.js";
import {
  EngineUnavailableError,
  initEngine,
  missingTrainingKernels,
  TRAINING_KERNELS,
} from "../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import { computeStyleTargets } from "../../../trainer/losses/index.js";
import { TransformerNet } from "../../../trainer/model/transformer-net.js";
import { createOptimizer, trainStep } from "../../../trainer/train-step.js";

describe("compute engines", () => {
  before(async () => {
    await initEngine("cpu");
  });

  it("cpu trains", async () => {
    const info = await initEngine("cpu");
    assert.deepEqual(info, { engine: "cpu", backend: "cpu", canTrain: true, missingTrainingKernels: [] });
    assert.equal(tf.getBackend(), "cpu");
  });

  it("wasm runs inference but refuses to train, naming the missing kernels", async () => {
    await assert.rejects(initEngine("wasm"), (err: unknown) => {
      assert.ok(err instanceof EngineUnavailableError);
      assert.match(err.message, /engine wasm cannot train: .*Conv2DBackpropFilter/);
      return true;
    });
    const info = await initEngine("wasm", { training: false });
    assert.equal(info.backend, "wasm");
    assert.equal(info.canTrain, false);
    const y = tf.conv2d(
      tf.ones([1, 4, 4, 1]) as tf.Tensor4D,
      tf.ones([3, 3, 1, 1]) as tf.Tensor4D,
      1,
      "same",
    );
    assert.deepEqual([...y.dataSync()], [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4]);
    await initEngine("cpu");
  });

  it("webgpu and tensorflow fail with a message saying what is missing", async () => {
    await assert.rejects(initEngine("webgpu"), /engine webgpu is not available.*webgpu/);
    await assert.rejects(initEngine("tensorflow"), /tfjs-node.*libtensorflow/);
  });

  it("auto falls back to cpu for training", async () => {
    const info = await initEngine("auto");
    assert.equal(info.engine, "cpu");
    assert.equal(missingTrainingKernels("cpu").length, 0);
  });

  it("the fast cpu Conv2DBackpropFilter matches the stock kernel", () => {
    const stock = stockConv2DBackpropFilter();
    assert.ok(stock, "the stock kernel was replaced and kept");
    const cases: {
      x: [number, number, number, number];
      f: [number, number, number, number];
      stride: number;
      pad: "same" | "valid" | number;
    }[] = [
      { x: [2, 9, 9, 3], f: [3, 3, 3, 5], stride: 1, pad: "same" },
      { x: [1, 9, 8, 4], f: [3, 3, 4, 6], stride: 2, pad: "valid" },
      { x: [1, 10, 10, 2], f: [9, 9, 2, 3], stride: 1, pad: 4 },
      { x: [3, 7, 7, 3], f: [2, 2, 3, 2], stride: 2, pad: "same" },
    ];
    for (const c of cases) {
      tf.tidy(() => {
        const x = tf.randomNormal(c.x, 0, 1, "float32", 1) as tf.Tensor4D;
        const f = tf.randomNormal(c.f, 0, 1, "float32", 2) as tf.Tensor4D;
        const y = tf.conv2d(x, f, c.stride, c.pad);
        const dy = tf.randomNormal(y.shape, 0, 1, "float32", 3) as tf.Tensor4D;
        const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC", filterShape: c.f };
        const got = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, attrs) as tf.Tensor;
        const backend = tf.backend();
        const wantInfo = stock({ inputs: { x, dy }, backend, attrs }) as tf.TensorInfo;
        const want = tf.engine().makeTensorFromTensorInfo(wantInfo);
        assert.deepEqual(got.shape, want.shape);
        const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] ?? NaN;
        assert.ok(diff < 1e-4, `${JSON.stringify(c)}: max difference ${diff}`);
      });
    }
  });

  it("TRAINING_KERNELS lists every kernel a training step runs", async () => {
    const vgg = await loadVgg16({ random: true });
    const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } as const;
    const used = new Set<string>();
    for (const [normalization, upsampling] of [
      ["instance", "upsample-conv"],
      ["batch", "transpose"],
    ] as const) {
      const net = new TransformerNet({ normalization, upsampling });
      const targets = computeStyleTargets(
        vgg,
        tf.randomUniform([1, 8, 8, 3], 0, 255) as tf.Tensor4D,
        layers.style,
      );
      const content = tf.randomUniform([2, 8, 8, 3], 0, 255) as tf.Tensor4D;
      const setup = { net, vgg, styleTargets: targets, layers, weights: { content: 1, style: 5, tv: 1e-6 } };
      const profile = await tf.profile(async () => {
        await trainStep(setup, createOptimizer(), content);
      });
      profile.kernelNames.forEach((k) => used.add(k));
      net.dispose();
    }
    const missing = [...used].filter((k) => !TRAINING_KERNELS.includes(k));
    assert.deepEqual(missing, [], "kernels a training step uses but TRAINING_KERNELS lacks");
    vgg.dispose();
  });
});
