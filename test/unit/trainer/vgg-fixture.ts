// Test fixtures for the VGG-16 loaders: weights whose values encode their
// place, the checks that every kernel landed in place and orientation, and
// ONNX models of VGG-16 built with onnx-proto in the layouts exporters write.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import onnxProto from "onnx-proto";
import { serializeSafetensors } from "../../../trainer/loss-network/safetensors.js";
import type { NamedArray } from "../../../trainer/model/parameters.js";
import {
  CAFFE_MEAN_BGR,
  TORCH_MEAN_RGB,
  TORCH_STD_RGB,
  type ConvWeights,
  type Vgg16,
  type VggConvName,
  VGG16_CONVS,
  type VggConvSpec,
} from "../../../trainer/loss-network/vgg16.js";

/**
 * Weights whose values encode their own position: the HWIO kernel of conv L
 * holds its flat HWIO index at every element except element 0, which holds
 * −(L+1) so that two convs of the same shape (conv3_2/conv3_3) cannot be
 * swapped unnoticed; the bias holds 1000·(L+1) + o. Every value is an exact
 * float32 integer (the largest index, 2 359 295, is below 2^24).
 */
export function expectedHwio(layer: number, conv: VggConvSpec): Float32Array {
  const a = new Float32Array(9 * conv.inChannels * conv.outChannels);
  for (let k = 0; k < a.length; k++) a[k] = k;
  a[0] = -(layer + 1);
  return a;
}
export function expectedBias(layer: number, conv: VggConvSpec): Float32Array {
  return Float32Array.from({ length: conv.outChannels }, (_, o) => 1000 * (layer + 1) + o);
}
/** The same kernel in PyTorch's OIHW layout. */
export function toOihw(hwio: Float32Array, conv: VggConvSpec): Float32Array {
  const I = conv.inChannels;
  const O = conv.outChannels;
  const out = new Float32Array(hwio.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let h = 0; h < 3; h++)
        for (let w = 0; w < 3; w++)
          out[((o * I + i) * 3 + h) * 3 + w] = hwio[((h * 3 + w) * I + i) * O + o] as number;
  return out;
}

/** Asserts every kernel and bias landed in place, reporting the first misplaced element. */
export function assertEncodedWeights(vgg: Vgg16): void {
  VGG16_CONVS.forEach((conv, layer) => {
    const { kernel, bias } = vgg.conv(conv.name);
    assert.deepEqual(kernel.shape, [3, 3, conv.inChannels, conv.outChannels]);
    const got = kernel.dataSync();
    const want = expectedHwio(layer, conv);
    for (let k = 0; k < want.length; k++) {
      if (got[k] !== want[k]) assert.fail(`${conv.name} kernel element ${k}: got ${got[k]}, want ${want[k]}`);
    }
    assert.deepEqual(bias.dataSync(), expectedBias(layer, conv), `${conv.name} bias`);
  });
}

/** The value of pixel (0,0) after the network's preprocess, for an input pixel (10, 20, 30). */
export function preprocessedPixel(vgg: Vgg16): number[] {
  return tf.tidy(() => [...vgg.preprocess(tf.tensor4d([10, 20, 30], [1, 1, 1, 3])).dataSync()]);
}
export const CAFFE_PIXEL = [30 - CAFFE_MEAN_BGR[0], 20 - CAFFE_MEAN_BGR[1], 10 - CAFFE_MEAN_BGR[2]];
export const TORCH_PIXEL = [10, 20, 30].map(
  (v, c) => (v / 255 - (TORCH_MEAN_RGB[c] ?? 0)) / (TORCH_STD_RGB[c] ?? 1),
);
export function assertClose(a: number[], b: number[]): void {
  assert.equal(a.length, b.length);
  a.forEach((v, i) => assert.ok(Math.abs(v - (b[i] ?? NaN)) < 1e-4, `${a.join(",")} ≉ ${b.join(",")}`));
}

/** The encoded weights as the loaders return them (HWIO kernels). */
export function encodedWeights(): Map<VggConvName, ConvWeights> {
  return new Map(
    VGG16_CONVS.map((conv, layer) => [
      conv.name,
      {
        kernel: { shape: [3, 3, conv.inChannels, conv.outChannels], data: expectedHwio(layer, conv) },
        bias: { shape: [conv.outChannels], data: expectedBias(layer, conv) },
      },
    ]),
  );
}

/** A torchvision VGG-16 state dict of the encoded weights as safetensors (OIHW, `features.N.*`, plus a classifier tensor). */
export function torchvisionSafetensors(): Uint8Array {
  const tensors = new Map<string, NamedArray>();
  // A classifier tensor, as in a full state dict, must be ignored.
  tensors.set("classifier.0.bias", { shape: [4], data: new Float32Array(4) });
  VGG16_CONVS.forEach((conv, layer) => {
    tensors.set(`features.${conv.torchIndex}.weight`, {
      shape: [conv.outChannels, conv.inChannels, 3, 3],
      data: toOihw(expectedHwio(layer, conv), conv),
    });
    tensors.set(`features.${conv.torchIndex}.bias`, {
      shape: [conv.outChannels],
      data: expectedBias(layer, conv),
    });
  });
  return serializeSafetensors(tensors, { format: "pt" });
}

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;

export interface VggOnnxOptions {
  /** The weights to write (HWIO kernels, as the loaders return them); default encodedWeights(). */
  weights?: ReadonlyMap<VggConvName, ConvWeights>;
  /**
   * NCHW: the image input feeds conv1_1, kernels are OIHW initializers (torch.onnx.export).
   * NHWC: an NHWC input is Transposed to NCHW first, kernels are HWIO initializers
   * Transposed to OIHW by a node, biases added by a separate Add (an unoptimised tf2onnx export).
   */
  layout: "NCHW" | "NHWC";
  /** Tensor names: Keras's (block1_conv1), torchvision's (features.0.weight) or neither. */
  naming: "keras" | "torch" | "plain";
  /** Extra values to expose as graph outputs (e.g. a Relu's output, for onnxruntime). */
  outputs?: string[];
  /** Leave out the max-pool in front of this conv (an invalid VGG). */
  dropPoolBefore?: VggConvName;
  /** Only the first n convs. */
  convs?: number;
}

function tensorName(conv: VggConvSpec, kind: "weight" | "bias", naming: VggOnnxOptions["naming"]): string {
  const [, b, c] = /^conv(\d)_(\d)$/.exec(conv.name) ?? [];
  if (naming === "keras") {
    return kind === "weight"
      ? `functional_1/block${b}_conv${c}_1/convolution/ReadVariableOp:0`
      : `functional_1/block${b}_conv${c}_1/Squeeze:0`;
  }
  if (naming === "torch") return `features.${conv.torchIndex}.${kind}`;
  return `w${b}${c}_${kind}`;
}

function initializer(name: string, shape: number[], data: Float32Array): onnxProto.onnx.ITensorProto {
  return {
    name,
    dims: shape,
    dataType: FLOAT,
    rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
  };
}

function ints(name: string, values: number[]): onnxProto.onnx.IAttributeProto {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

/**
 * An ONNX model of VGG-16 up to relu4_3 followed by a small 1×1 conv head
 * (so the file has more convs than the loader needs). Relu outputs are named
 * relu1_1 … relu4_3.
 */
export function buildVggOnnx(opts: VggOnnxOptions): Uint8Array {
  const weights = opts.weights ?? encodedWeights();
  const nodes: onnxProto.onnx.INodeProto[] = [];
  const inits: onnxProto.onnx.ITensorProto[] = [];
  const nhwc = opts.layout === "NHWC";
  let x = "image";
  if (nhwc) {
    nodes.push({
      opType: "Transpose",
      input: [x],
      output: ["image_nchw"],
      attribute: [ints("perm", [0, 3, 1, 2])],
    });
    x = "image_nchw";
  }
  let block = 1;
  for (const conv of VGG16_CONVS.slice(0, opts.convs ?? VGG16_CONVS.length)) {
    const w = weights.get(conv.name);
    assert.ok(w, conv.name);
    if (conv.block !== block) {
      block = conv.block;
      if (opts.dropPoolBefore !== conv.name) {
        nodes.push({
          opType: "MaxPool",
          input: [x],
          output: [`pool${block - 1}`],
          attribute: [ints("kernel_shape", [2, 2]), ints("strides", [2, 2])],
        });
        x = `pool${block - 1}`;
      }
    }
    const wName = tensorName(conv, "weight", opts.naming);
    const bName = tensorName(conv, "bias", opts.naming);
    const convAttrs = [ints("kernel_shape", [3, 3]), ints("pads", [1, 1, 1, 1]), ints("strides", [1, 1])];
    const relu = `relu${conv.name.slice(4)}`;
    if (nhwc) {
      inits.push(initializer(wName, [3, 3, conv.inChannels, conv.outChannels], w.kernel.data));
      inits.push(initializer(bName, [1, conv.outChannels, 1, 1], w.bias.data));
      nodes.push({
        opType: "Transpose",
        input: [wName],
        output: [`${conv.name}_oihw`],
        attribute: [ints("perm", [3, 2, 0, 1])],
      });
      nodes.push({
        opType: "Conv",
        name: conv.name,
        input: [x, `${conv.name}_oihw`],
        output: [`${conv.name}_conv`],
        attribute: convAttrs,
      });
      nodes.push({ opType: "Add", input: [`${conv.name}_conv`, bName], output: [`${conv.name}_out`] });
    } else {
      inits.push(initializer(wName, [conv.outChannels, conv.inChannels, 3, 3], toOihw(w.kernel.data, conv)));
      inits.push(initializer(bName, [conv.outChannels], w.bias.data));
      nodes.push({
        opType: "Conv",
        name: conv.name,
        input: [x, wName, bName],
        output: [`${conv.name}_out`],
        attribute: convAttrs,
      });
    }
    nodes.push({ opType: "Relu", input: [`${conv.name}_out`], output: [relu] });
    x = relu;
  }
  // A head: one more conv (1×1, 8 filters) that the loader must not take.
  const last = VGG16_CONVS[(opts.convs ?? VGG16_CONVS.length) - 1];
  assert.ok(last);
  inits.push(initializer("head.weight", [8, last.outChannels, 1, 1], new Float32Array(8 * last.outChannels)));
  nodes.push({
    opType: "Conv",
    name: "head",
    input: [x, "head.weight"],
    output: ["logits"],
    attribute: [ints("kernel_shape", [1, 1])],
  });

  const valueInfo = (name: string): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: { tensorType: { elemType: FLOAT } },
  });
  const inputShape = nhwc ? [1, 0, 0, 3] : [1, 3, 0, 0];
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "stylekube-test",
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "vgg16",
      node: nodes,
      initializer: inits,
      input: [
        {
          name: "image",
          type: {
            tensorType: {
              elemType: FLOAT,
              shape: { dim: inputShape.map((d, i) => (d > 0 ? { dimValue: d } : { dimParam: `d${i}` })) },
            },
          },
        },
      ],
      output: ["logits", ...(opts.outputs ?? [])].map(valueInfo),
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
