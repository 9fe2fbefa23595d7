import * as tf from "@tensorflow/tfjs-core";
import {
  type Normalization,
  type Stage,
  TRANSFORMER_NET,
  UP_KERNEL,
  type Upsampling,
} from "./architecture.js";
import {
  type ApplyContext,
  type Layer,
  Norm,
  ParameterBuilder,
  ReflectConv,
  ResidualBlock,
  TransposeConv,
  UpsampleConv,
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

let nextInstance = 0;

/** A layer of the tfjs network, optionally followed by a ReLU. */
export interface NetStage {
  layer: Layer;
  relu: boolean;
}

/**
 * The tfjs layers of one stage of the architecture (architecture.ts); the
 * output stage is built apart (it ends in the scaled tanh, not a ReLU).
 */
function tfjsStages(
  b: ParameterBuilder,
  stage: Exclude<Stage, { kind: "output" }>,
  options: Required<TransformerNetOptions>,
): NetStage[] {
  const norm = options.normalization;
  const convNormRelu = (conv: Layer, channels: number): NetStage[] => [
    { layer: conv, relu: false },
    { layer: new Norm(b, `${stage.name}.norm`, norm, channels), relu: true },
  ];
  switch (stage.kind) {
    case "conv":
      return convNormRelu(
        new ReflectConv(b, `${stage.name}.conv`, stage.in, stage.out, stage.kernel, stage.stride),
        stage.out,
      );
    case "residual":
      return [{ layer: new ResidualBlock(b, stage.name, stage.channels, norm), relu: false }];
    case "up":
      return convNormRelu(
        options.upsampling === "transpose"
          ? new TransposeConv(b, `${stage.name}.conv`, stage.in, stage.out, UP_KERNEL)
          : new UpsampleConv(b, `${stage.name}.conv`, stage.in, stage.out, UP_KERNEL),
        stage.out,
      );
  }
}

/**
 * The image transformation network of Johnson et al. 2016 in tfjs, built
 * from the architecture (architecture.ts).
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
  readonly stages: NetStage[];
  /** The last conv, before the scaled tanh. */
  readonly output: ReflectConv;

  constructor(options: TransformerNetOptions = {}) {
    this.options = {
      normalization: options.normalization ?? "instance",
      upsampling: options.upsampling ?? "upsample-conv",
      seed: options.seed ?? 0,
    };
    const b = new ParameterBuilder(this.options.seed, `transformer${nextInstance++}/`);
    this.stages = [];
    let output: ReflectConv | undefined;
    for (const stage of TRANSFORMER_NET) {
      if (stage.kind === "output") {
        output = new ReflectConv(b, `${stage.name}.conv`, stage.in, stage.out, stage.kernel, 1);
      } else {
        this.stages.push(...tfjsStages(b, stage, this.options));
      }
    }
    if (output === undefined) throw new Error("the architecture has no output stage");
    this.output = output;
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
