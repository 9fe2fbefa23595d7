import * as tf from "@tensorflow/tfjs-core";
import {
  type ApplyContext,
  type Layer,
  Norm,
  type Normalization,
  ParameterBuilder,
  ReflectConv,
  ResidualBlock,
  TransposeConv,
  UpsampleConv,
  type Upsampling,
} from "./layers.js";
import { countParameters, type ParameterMap } from "./parameters.js";

export interface TransformerNetOptions {
  /** Instance norm (Ulyanov et al., the default) or the paper's batch norm. */
  normalization?: Normalization;
  /** Nearest-neighbour upsample then conv (default) or the paper's transposed convs. */
  upsampling?: Upsampling;
  /** Seed of the initial weights; the same seed gives bit-identical weights on every worker. */
  seed?: number;
}

export const RESIDUAL_BLOCKS = 5;

let nextInstance = 0;

/**
 * The image transformation network of Johnson et al. 2016 (supplementary
 * material, style transfer):
 *
 *   c9s1-32 → d64 → d128 → 5 × R128 → u64 → u32 → c9s1-3 → scaled tanh
 *
 * Every conv except the last is followed by normalisation and ReLU; each
 * conv reflection-pads its own input (the common equivalent of the paper's
 * 40-pixel reflection padding plus valid convs). Fully convolutional: any
 * H×W that is a multiple of 4 maps to the same H×W.
 *
 * Input and output are RGB in [0, 255], NHWC float32.
 */
export class TransformerNet {
  readonly options: Required<TransformerNetOptions>;
  /** Trainable parameters, named and in forward order (see parameters.ts). */
  readonly params: ParameterMap;
  /** Non-trainable state (batch-norm running statistics); empty for instance norm. */
  readonly buffers: ParameterMap;
  /** The layers in order, each optionally followed by a ReLU (read by strip-inference.ts). */
  readonly stages: { layer: Layer; relu: boolean }[];
  /** The last conv, before the scaled tanh. */
  readonly output: ReflectConv;

  constructor(options: TransformerNetOptions = {}) {
    this.options = {
      normalization: options.normalization ?? "instance",
      upsampling: options.upsampling ?? "upsample-conv",
      seed: options.seed ?? 0,
    };
    const norm = this.options.normalization;
    const b = new ParameterBuilder(this.options.seed, `transformer${nextInstance++}/`);
    const convNormRelu = (name: string, conv: Layer, channels: number): { layer: Layer; relu: boolean }[] => [
      { layer: conv, relu: false },
      { layer: new Norm(b, `${name}.norm`, norm, channels), relu: true },
    ];
    const up = (name: string, cin: number, cout: number): Layer =>
      this.options.upsampling === "transpose"
        ? new TransposeConv(b, `${name}.conv`, cin, cout, 3)
        : new UpsampleConv(b, `${name}.conv`, cin, cout, 3);

    this.stages = [
      ...convNormRelu("conv1", new ReflectConv(b, "conv1.conv", 3, 32, 9, 1), 32), // c9s1-32
      ...convNormRelu("down1", new ReflectConv(b, "down1.conv", 32, 64, 3, 2), 64), // d64
      ...convNormRelu("down2", new ReflectConv(b, "down2.conv", 64, 128, 3, 2), 128), // d128
    ];
    for (let i = 1; i <= RESIDUAL_BLOCKS; i++) {
      this.stages.push({ layer: new ResidualBlock(b, `res${i}`, 128, norm), relu: false });
    }
    this.stages.push(
      ...convNormRelu("up1", up("up1", 128, 64), 64), // u64
      ...convNormRelu("up2", up("up2", 64, 32), 32), // u32
    );
    this.output = new ReflectConv(b, "out.conv", 32, 3, 9, 1); // c9s1-3
    this.params = b.params;
    this.buffers = b.buffers;
  }

  /** Stylises a batch: [N, H, W, 3] in [0, 255] → [N, H, W, 3] in [0, 255]. H and W must be multiples of 4. */
  apply(images: tf.Tensor4D, ctx: ApplyContext = { training: false }): tf.Tensor4D {
    const [, h, w, c] = images.shape;
    if (c !== 3) throw new Error(`TransformerNet expects RGB input with 3 channels, got ${c}`);
    if (h % 4 !== 0 || w % 4 !== 0) {
      throw new Error(
        `TransformerNet input H and W must be multiples of 4 (two stride-2 downsamplings), got ${h}×${w}`,
      );
    }
    return tf.tidy(() => {
      // Scale to [0, 1] so the first conv starts in a comfortable range; the
      // normalisation after it makes the network insensitive to this choice.
      let x: tf.Tensor4D = tf.div(images, 255);
      for (const { layer, relu } of this.stages) {
        x = layer.apply(x, ctx);
        if (relu) x = tf.relu(x);
      }
      return scaledTanh(this.output.apply(x));
    });
  }

  /** Maps the tfjs variable names (as keys of tf.variableGrads results) back to parameter names. */
  parameterName(variableName: string): string | undefined {
    for (const [name, v] of this.params) if (v.name === variableName) return name;
    return undefined;
  }

  parameterCount(): number {
    return countParameters(this.params);
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    for (const v of this.buffers.values()) v.dispose();
  }
}

/** Scaled tanh: (tanh + 1) · 127.5 lands every pixel in [0, 255]. */
export function scaledTanh(x: tf.Tensor4D): tf.Tensor4D {
  return tf.mul(tf.add(tf.tanh(x), 1), 127.5);
}

/**
 * The trainable parameter count of the network, computed from the
 * architecture alone (no tensors). It is the same for both normalisations
 * (γ, β per channel; batch norm's running statistics are state, not
 * parameters) and both upsampling modes (a 3×3 kernel between the same
 * channel counts either way).
 */
export function transformerNetParameterCount(): number {
  const conv = (cin: number, cout: number, k: number): number => k * k * cin * cout + cout;
  const norm = (c: number): number => 2 * c;
  return (
    conv(3, 32, 9) +
    norm(32) +
    conv(32, 64, 3) +
    norm(64) +
    conv(64, 128, 3) +
    norm(128) +
    RESIDUAL_BLOCKS * 2 * (conv(128, 128, 3) + norm(128)) +
    conv(128, 64, 3) +
    norm(64) +
    conv(64, 32, 3) +
    norm(32) +
    conv(32, 3, 9)
  );
}
