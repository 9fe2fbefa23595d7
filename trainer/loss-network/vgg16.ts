import * as tf from "@tensorflow/tfjs-core";
import type { VggLayer } from "../../common/api/index.js";
import type { NamedArray } from "../../model/parameters.js";

export type { VggLayer };

/** The ten convs of VGG-16 up to relu4_3, in forward order; `torchIndex` is the index in torchvision's `features`. */
export const VGG16_CONVS = [
  { name: "conv1_1", block: 1, inChannels: 3, outChannels: 64, torchIndex: 0 },
  { name: "conv1_2", block: 1, inChannels: 64, outChannels: 64, torchIndex: 2 },
  { name: "conv2_1", block: 2, inChannels: 64, outChannels: 128, torchIndex: 5 },
  { name: "conv2_2", block: 2, inChannels: 128, outChannels: 128, torchIndex: 7 },
  { name: "conv3_1", block: 3, inChannels: 128, outChannels: 256, torchIndex: 10 },
  { name: "conv3_2", block: 3, inChannels: 256, outChannels: 256, torchIndex: 12 },
  { name: "conv3_3", block: 3, inChannels: 256, outChannels: 256, torchIndex: 14 },
  { name: "conv4_1", block: 4, inChannels: 256, outChannels: 512, torchIndex: 17 },
  { name: "conv4_2", block: 4, inChannels: 512, outChannels: 512, torchIndex: 19 },
  { name: "conv4_3", block: 4, inChannels: 512, outChannels: 512, torchIndex: 21 },
] as const;

export type VggConvName = (typeof VGG16_CONVS)[number]["name"];
export type VggConvSpec = (typeof VGG16_CONVS)[number];

/** The Keras applications name of a conv: conv3_2 → block3_conv2. */
export function kerasLayerName(conv: VggConvSpec): string {
  const [, b, c] = /^conv(\d)_(\d)$/.exec(conv.name) ?? [];
  return `block${b}_conv${c}`;
}

/** The style-transfer loss layers of the paper (section 4, "Style transfer"). */
export const PAPER_STYLE_LAYERS: readonly VggLayer[] = ["relu1_2", "relu2_2", "relu3_3", "relu4_3"];
export const PAPER_CONTENT_LAYER: VggLayer = "relu2_2";

/** One conv's weights: kernel in HWIO ([3, 3, in, out]) and bias [out]. */
export interface ConvWeights {
  kernel: NamedArray;
  bias: NamedArray;
}

/** Maps RGB in [0, 255] (NHWC) to the input the weights were trained on. */
export type Preprocess = (rgb0to255: tf.Tensor4D) => tf.Tensor4D;

/**
 * Input conventions of the published weights.
 * - caffe: Keras applications / original VGG release: BGR, 0–255, minus the
 *   ImageNet mean in BGR order.
 * - torch: torchvision: RGB, 0–1, minus mean, divided by std.
 */
export type InputConvention = "caffe" | "torch";

export const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68] as const;
export const TORCH_MEAN_RGB = [0.485, 0.456, 0.406] as const;
export const TORCH_STD_RGB = [0.229, 0.224, 0.225] as const;

export function preprocessFor(convention: InputConvention): Preprocess {
  if (convention === "caffe") {
    return (rgb) =>
      tf.tidy(() => tf.sub(tf.reverse(rgb, 3), tf.tensor1d([...CAFFE_MEAN_BGR], "float32")) as tf.Tensor4D);
  }
  return (rgb) =>
    tf.tidy(
      () =>
        tf.div(
          tf.sub(tf.div(rgb, 255), tf.tensor1d([...TORCH_MEAN_RGB], "float32")),
          tf.tensor1d([...TORCH_STD_RGB], "float32"),
        ) as tf.Tensor4D,
    );
}

export interface Vgg16Source {
  /** What was loaded, for logs: a path/URI and format, or "random". */
  description: string;
  convention: InputConvention;
  random: boolean;
}

/** The activation names in forward order; pools sit after relu1_2, relu2_2, relu3_3. */
const RELU_OF: Record<VggConvName, VggLayer> = {
  conv1_1: "relu1_1",
  conv1_2: "relu1_2",
  conv2_1: "relu2_1",
  conv2_2: "relu2_2",
  conv3_1: "relu3_1",
  conv3_2: "relu3_2",
  conv3_3: "relu3_3",
  conv4_1: "relu4_1",
  conv4_2: "relu4_2",
  conv4_3: "relu4_3",
};

/** Checks one conv's arrays against VGG-16's shapes; loaders call it so a wrong file fails with the layer's name. */
export function checkConvWeights(conv: VggConvSpec, w: ConvWeights, where: string): void {
  const want = [3, 3, conv.inChannels, conv.outChannels];
  const k = w.kernel.shape;
  if (k.length !== 4 || k.some((d, i) => d !== want[i])) {
    throw new Error(
      `${where}: ${conv.name} kernel has shape [${k.join(",")}], VGG-16 needs HWIO [${want.join(",")}]`,
    );
  }
  if (w.kernel.data.length !== 9 * conv.inChannels * conv.outChannels) {
    throw new Error(
      `${where}: ${conv.name} kernel has ${w.kernel.data.length} values for shape [${k.join(",")}]`,
    );
  }
  if (
    w.bias.shape.length !== 1 ||
    w.bias.shape[0] !== conv.outChannels ||
    w.bias.data.length !== conv.outChannels
  ) {
    throw new Error(
      `${where}: ${conv.name} bias has shape [${w.bias.shape.join(",")}], VGG-16 needs [${conv.outChannels}]`,
    );
  }
}

/**
 * VGG-16's conv stack up to relu4_3, frozen: its weights are plain tensors,
 * not variables, so no optimiser can ever update them, while gradients still
 * flow through it to the generated image.
 */
export class Vgg16 {
  private readonly kernels = new Map<VggConvName, tf.Tensor4D>();
  private readonly biases = new Map<VggConvName, tf.Tensor1D>();

  constructor(
    weights: ReadonlyMap<VggConvName, ConvWeights>,
    /** Applied to every input by `features`: the convention of the weights loaded. */
    readonly preprocess: Preprocess,
    readonly source: Vgg16Source,
  ) {
    for (const conv of VGG16_CONVS) {
      const w = weights.get(conv.name);
      if (w === undefined) throw new Error(`${source.description}: no weights for ${conv.name}`);
      checkConvWeights(conv, w, source.description);
      this.kernels.set(
        conv.name,
        tf.tensor4d(w.kernel.data, [3, 3, conv.inChannels, conv.outChannels], "float32"),
      );
      this.biases.set(conv.name, tf.tensor1d(w.bias.data, "float32"));
    }
  }

  /** The kernel (HWIO) and bias of one conv, for tests and inspection. */
  conv(name: VggConvName): { kernel: tf.Tensor4D; bias: tf.Tensor1D } {
    const kernel = this.kernels.get(name);
    const bias = this.biases.get(name);
    if (kernel === undefined || bias === undefined) throw new Error(`no conv ${name}`);
    return { kernel, bias };
  }

  /**
   * Activations at `layers` for RGB images in [0, 255]. Stops after the
   * deepest layer asked for (the content target needs only relu2_2).
   */
  features(rgb0to255: tf.Tensor4D, layers: readonly VggLayer[]): Map<VggLayer, tf.Tensor4D> {
    const wanted = new Set(layers);
    const out = new Map<VggLayer, tf.Tensor4D>();
    let x = this.preprocess(rgb0to255);
    let block = 1;
    for (const conv of VGG16_CONVS) {
      if (out.size === wanted.size) break;
      if (conv.block !== block) {
        x = tf.maxPool(x, 2, 2, "valid");
        block = conv.block;
      }
      const { kernel, bias } = this.conv(conv.name);
      // VGG pads with zeros ("same"), unlike the transformation network.
      x = tf.relu(tf.add<tf.Tensor4D>(tf.conv2d(x, kernel, 1, "same"), bias));
      const relu = RELU_OF[conv.name];
      if (wanted.has(relu)) out.set(relu, x);
    }
    return out;
  }

  dispose(): void {
    for (const t of this.kernels.values()) t.dispose();
    for (const t of this.biases.values()) t.dispose();
  }
}
