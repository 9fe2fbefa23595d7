import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { initEngine } from "../../../trainer/engine/engines.js";
import { vgg16Digest } from "../../../trainer/loss-network/canonical.js";
import { identifySource, KERAS_VGG16_IMAGENET_SHA256 } from "../../../trainer/loss-network/known-sources.js";
import { loadVgg16, randomVgg16Weights } from "../../../trainer/loss-network/load.js";
import { readOnnxVgg16 } from "../../../trainer/loss-network/onnx.js";
import { transposeArray } from "../../../trainer/loss-network/transpose.js";
import { Vgg16, type VggLayer } from "../../../trainer/loss-network/vgg16.js";
import {
  assertClose,
  assertEncodedWeights,
  buildVggOnnx,
  CAFFE_PIXEL,
  encodedWeights,
  preprocessedPixel,
  TORCH_PIXEL,
} from "./vgg-fixture.js";

let dir: string;

async function writeModel(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

describe("ONNX loss network", () => {
  before(async () => {
    await initEngine("cpu");
    dir = await mkdtemp(join(tmpdir(), "stylekube-onnx-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("transposes arrays as numpy does", () => {
    // A 2×3×4 array holding its flat index; transpose (2,0,1) gives 4×2×3.
    const src = { shape: [2, 3, 4], data: Float32Array.from({ length: 24 }, (_, i) => i) };
    const t = transposeArray(src, [2, 0, 1]);
    assert.deepEqual(t.shape, [4, 2, 3]);
    // out[k][i][j] = src[i][j][k] = 12i + 4j + k
    for (let k = 0; k < 4; k++)
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++) assert.equal(t.data[(k * 2 + i) * 3 + j], 12 * i + 4 * j + k);
    assert.throws(() => transposeArray(src, [0, 0, 1]), /not a permutation/);
  });

  it("NCHW export with OIHW kernels and torchvision names: every kernel in place, torch convention", async () => {
    const path = await writeModel("vgg16-torch.onnx", buildVggOnnx({ layout: "NCHW", naming: "torch" }));
    const { report } = readOnnxVgg16(new Uint8Array(await readFile(path)), path);
    assert.equal(report.inputLayout, "NCHW");
    assert.equal(report.kernelLayout, "OIHW");
    assert.equal(report.totalConvs, 11, "ten VGG convs and the head");
    assert.deepEqual(report.convNodes, [
      "conv1_1",
      "conv1_2",
      "conv2_1",
      "conv2_2",
      "conv3_1",
      "conv3_2",
      "conv3_3",
      "conv4_1",
      "conv4_2",
      "conv4_3",
    ]);
    const vgg = await loadVgg16({ weights: path });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "torch");
    assertClose(preprocessedPixel(vgg), TORCH_PIXEL);
    vgg.dispose();
  });

  it("NHWC export with HWIO kernels behind Transpose nodes, biases in Add nodes, Keras names: caffe convention", async () => {
    const bytes = buildVggOnnx({ layout: "NHWC", naming: "keras" });
    const { report } = readOnnxVgg16(bytes, "keras.onnx");
    assert.equal(report.inputLayout, "NHWC");
    assert.equal(report.kernelLayout, "HWIO");
    assert.deepEqual(report.preprocessing, []);
    const vgg = await loadVgg16({
      weights: "s3://bucket/keras-vgg16.onnx",
      readUri: async () => bytes,
    });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "caffe");
    assertClose(preprocessedPixel(vgg), CAFFE_PIXEL);
    vgg.dispose();
  });

  it("takes the convention from the spec, and asks for it when the source is unknown", async () => {
    const path = await writeModel("plain.onnx", buildVggOnnx({ layout: "NCHW", naming: "plain" }));
    await assert.rejects(loadVgg16({ weights: path }), (err: Error) => {
      assert.match(err.message, /plain\.onnx \(onnx\): cannot tell which input the weights expect/);
      assert.match(
        err.message,
        /spec\.lossNetwork\.convention \(weights pull: --convention\) to caffe .* or torch/,
      );
      return true;
    });
    const vgg = await loadVgg16({ weights: path, convention: "caffe" });
    assert.equal(vgg.source.convention, "caffe");
    assertEncodedWeights(vgg);
    vgg.dispose();
    // The spec wins over a known naming too.
    const torchNamed = await writeModel("t.onnx", buildVggOnnx({ layout: "NCHW", naming: "torch" }));
    const v2 = await loadVgg16({ weights: torchNamed, convention: "caffe", format: "onnx" });
    assert.equal(v2.source.convention, "caffe");
    v2.dispose();
  });

  it("knows Keras's ImageNet VGG-16 by its digest", () => {
    assert.equal(identifySource(KERAS_VGG16_IMAGENET_SHA256, [])?.convention, "caffe");
    assert.equal(identifySource(vgg16Digest(encodedWeights()), ["x"]), undefined);
  });

  for (const layout of ["NCHW", "NHWC"] as const) {
    it(`computes what onnxruntime computes from the same ${layout} file (relu1_2, relu2_2, relu4_3)`, async () => {
      // Random He-normal weights keep activations in range; the input is the
      // same NHWC image for both, transposed for an NCHW model.
      const weights = randomVgg16Weights(7);
      const layers: VggLayer[] = ["relu1_2", "relu2_2", "relu4_3"];
      const bytes = buildVggOnnx({ layout, naming: "plain", weights, outputs: layers });
      const { weights: read } = readOnnxVgg16(bytes, `${layout}.onnx`);
      const ours = new Vgg16(read, (x) => x, { description: layout, convention: "caffe", random: false });
      const S = 16;
      const image = Float32Array.from({ length: S * S * 3 }, (_, i) => Math.sin(i * 0.37) * 50);
      const feats = ours.features(tf.tensor4d(image, [1, S, S, 3]), layers);
      const session = await ort.InferenceSession.create(bytes);
      const input =
        layout === "NHWC"
          ? new ort.Tensor("float32", image, [1, S, S, 3])
          : new ort.Tensor(
              "float32",
              transposeArray({ shape: [1, S, S, 3], data: image }, [0, 3, 1, 2]).data,
              [1, 3, S, S],
            );
      const out = await session.run({ image: input });
      for (const layer of layers) {
        const ref = out[layer];
        assert.ok(ref, layer);
        const [, C = 0, H = 0, W = 0] = ref.dims;
        const refNhwc = transposeArray(
          { shape: [1, C, H, W], data: ref.data as Float32Array },
          [0, 2, 3, 1],
        ).data;
        const got = feats.get(layer)?.dataSync();
        assert.ok(got, layer);
        assert.equal(got.length, refNhwc.length);
        let maxDiff = 0;
        let maxRef = 0;
        for (let i = 0; i < got.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs((got[i] ?? 0) - (refNhwc[i] ?? 0)));
          maxRef = Math.max(maxRef, Math.abs(refNhwc[i] ?? 0));
        }
        assert.ok(maxRef > 1, `${layer}: activations are not all ~0 (max ${maxRef})`);
        assert.ok(
          maxDiff <= 1e-4 * maxRef,
          `${layer}: max |ours − onnxruntime| = ${maxDiff}, max |ref| = ${maxRef}`,
        );
      }
      await session.release();
      ours.dispose();
    });
  }

  it("a file that is not VGG-16 fails naming what is missing", async () => {
    // Blocks 1 and 2 only.
    const short = buildVggOnnx({ layout: "NCHW", naming: "torch", convs: 4 });
    assert.throws(
      () => readOnnxVgg16(short, "short.onnx"),
      (err: Error) => {
        assert.match(err.message, /^short\.onnx: not VGG-16: found conv1_1, conv1_2, conv2_1, conv2_2, then/);
        // The head's 1×1 conv is where conv3_1 should be.
        assert.match(
          err.message,
          /Conv node 'head' has kernel \[8,128,1,1\] where conv3_1 needs OIHW \[256,128,3,3\]/,
        );
        assert.match(err.message, /Missing: conv3_1, conv3_2, conv3_3, conv4_1, conv4_2, conv4_3/);
        return true;
      },
    );
    const noPool = buildVggOnnx({ layout: "NCHW", naming: "torch", dropPoolBefore: "conv3_1" });
    assert.throws(
      () => readOnnxVgg16(noPool, "nopool.onnx"),
      /found conv1_1.*conv2_2, then 0 max-pools lie before Conv node 'conv3_1', VGG-16 has 1\. Missing: conv3_1/,
    );
    assert.throws(
      () => readOnnxVgg16(new TextEncoder().encode("not a model at all"), "x.onnx"),
      /x\.onnx: not an ONNX model/,
    );
  });
});
