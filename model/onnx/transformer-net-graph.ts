// The transformation network of Johnson et al. 2016 as an ONNX graph, layer
// for layer the network of model/transformer-net.ts (same parameter
// names, same arithmetic), in NCHW. Used twice: the exported model (weights
// as initialisers, symbolic height and width, inference normalisation) and
// the training graph (weights as inputs, static shapes, batch statistics),
// whose backward pass trainer/onnx/ derives from these same nodes.
import {
  NORM_EPSILON,
  type Normalization,
  RESIDUAL_KERNEL,
  type Stage,
  TRANSFORMER_NET,
  UP_KERNEL,
  type Upsampling,
} from "../architecture.js";
import { type GraphBuilder } from "./graph.js";
import * as ops from "./ops.js";

export interface TransformerNetGraphOptions {
  normalization: Normalization;
  upsampling: Upsampling;
  /**
   * Batch norm uses the batch's statistics (training) or its running ones
   * (inference). Instance norm is the same either way.
   */
  training: boolean;
  /**
   * The layout the parameter source gives 4-D kernels in: tfjs's (conv HWIO,
   * transposed conv [k, k, out, in]; transposed inside the graph, the
   * default) or already ONNX's ([out, in, k, k] / [in, out, k, k]).
   */
  kernelLayout?: "tfjs" | "onnx";
}

/** The value holding a parameter, in the tfjs network's layout (conv HWIO, transposed conv [k, k, out, in], norm [C]). */
export type ParameterSource = (name: string) => string;

/** Batch statistics of one batch-norm layer in a training graph (for the running averages). */
export interface BatchStatistics {
  /** The norm's parameter prefix, e.g. "res1.norm2". */
  layer: string;
  /** Values [1, C, 1, 1]: the batch mean and biased variance. */
  mean: string;
  variance: string;
  /** Elements each statistic averages over (N·H·W). */
  count: number;
}

export interface TransformerNetGraph {
  /** [N, 3, H, W] in [0, 255]. */
  output: string;
  /** Empty unless batch norm in a training graph. */
  batchStatistics: BatchStatistics[];
}

class NetBuilder {
  readonly batchStatistics: BatchStatistics[] = [];

  constructor(
    readonly g: GraphBuilder,
    readonly param: ParameterSource,
    readonly options: TransformerNetGraphOptions,
  ) {}

  /** A parameter of shape [C] as [1, C, 1, 1], to broadcast over NCHW. */
  private channelwise(name: string): string {
    const v = this.param(name);
    const [c] = this.g.staticShape(v);
    return ops.reshape(this.g, v, [1, c ?? 0, 1, 1]);
  }

  /** HWIO (and the transposed conv's [k, k, out, in]) → ONNX's [O, I, k, k] / [I, O, k, k]. */
  private kernel(name: string): string {
    return this.options.kernelLayout === "onnx"
      ? this.param(name)
      : ops.transpose(this.g, this.param(name), [3, 2, 0, 1]);
  }

  /** Reflection padding then a valid conv: stride 1 keeps H×W, stride 2 halves it. */
  reflectConv(x: string, name: string, k: number, stride: number): string {
    const p = Math.floor(k / 2);
    const padded = p > 0 ? ops.pad2d(this.g, x, [p, p, p, p], "reflect") : x;
    const y = ops.conv(this.g, padded, this.kernel(`${name}.weight`), undefined, {
      strides: [stride, stride],
    });
    return ops.add(this.g, y, this.channelwise(`${name}.bias`));
  }

  /**
   * The fractionally strided conv (k 3, stride 2, output 2H×2W): tfjs's
   * conv2dTranspose with "same" padding, the adjoint of a stride-2 conv
   * whose "same" padding puts the odd pixel at the bottom/right.
   */
  transposeConv(x: string, name: string): string {
    const y = ops.convTranspose(this.g, x, this.kernel(`${name}.weight`), undefined, {
      strides: [2, 2],
      pads: [0, 0, 1, 1],
    });
    return ops.add(this.g, y, this.channelwise(`${name}.bias`));
  }

  up(x: string, name: string): string {
    return this.options.upsampling === "transpose"
      ? this.transposeConv(x, `${name}.conv`)
      : this.reflectConv(ops.upsampleNearest2x(this.g, x), `${name}.conv`, UP_KERNEL, 1);
  }

  /**
   * (x − μ) / √(σ² + ε) · γ + β, written with primitive ops (so that the
   * backward pass needs no normalisation rule): μ and σ² over (H, W) per
   * image for instance norm, over (N, H, W) for batch norm in training, the
   * running averages for batch norm in inference.
   */
  norm(x: string, name: string): string {
    const g = this.g;
    const eps = g.scalar(NORM_EPSILON);
    let centred: string;
    let variance: string;
    if (this.options.normalization === "batch" && !this.options.training) {
      centred = ops.sub(g, x, this.channelwise(`${name}.runningMean`));
      variance = this.channelwise(`${name}.runningVar`);
    } else {
      const axes = this.options.normalization === "instance" ? [2, 3] : [0, 2, 3];
      const mean = ops.reduce(g, "ReduceMean", x, axes, true);
      centred = ops.sub(g, x, mean);
      variance = ops.reduce(g, "ReduceMean", ops.mul(g, centred, centred), axes, true);
      if (this.options.normalization === "batch") {
        const shape = g.staticShape(x);
        const count = axes.reduce((n, a) => n * (shape[a] ?? 1), 1);
        this.batchStatistics.push({ layer: name, mean, variance, count });
      }
    }
    const normed = ops.div(g, centred, ops.unary(g, "Sqrt", ops.add(g, variance, eps)));
    return ops.add(
      g,
      ops.mul(g, normed, this.channelwise(`${name}.gamma`)),
      this.channelwise(`${name}.beta`),
    );
  }

  convNormRelu(x: string, name: string, conv: (x: string) => string): string {
    return ops.unary(this.g, "Relu", this.norm(conv(x), `${name}.norm`));
  }

  /** One stage of the architecture (architecture.ts). */
  stage(x: string, s: Stage): string {
    switch (s.kind) {
      case "conv":
        return this.convNormRelu(x, s.name, (v) => this.reflectConv(v, `${s.name}.conv`, s.kernel, s.stride));
      case "residual":
        return this.residual(x, s.name);
      case "up":
        return this.convNormRelu(x, s.name, (v) => this.up(v, s.name));
      case "output": {
        const y = ops.unary(this.g, "Tanh", this.reflectConv(x, `${s.name}.conv`, s.kernel, 1));
        return ops.mul(this.g, ops.add(this.g, y, this.g.scalar(1)), this.g.scalar(127.5));
      }
    }
  }

  residual(x: string, name: string): string {
    const h = ops.unary(
      this.g,
      "Relu",
      this.norm(this.reflectConv(x, `${name}.conv1`, RESIDUAL_KERNEL, 1), `${name}.norm1`),
    );
    return ops.add(
      this.g,
      x,
      this.norm(this.reflectConv(h, `${name}.conv2`, RESIDUAL_KERNEL, 1), `${name}.norm2`),
    );
  }
}

/**
 * Appends the network (architecture.ts) to g: images [N, 3, H, W] in
 * [0, 255] (H, W multiples of 4) → stylised images, same shape, in [0, 255].
 */
export function appendTransformerNet(
  g: GraphBuilder,
  images: string,
  param: ParameterSource,
  options: TransformerNetGraphOptions,
): TransformerNetGraph {
  const b = new NetBuilder(g, param, options);
  // [0, 255] → [0, 1], as the tfjs network does before its first conv.
  let x = ops.div(g, images, g.scalar(255));
  for (const stage of TRANSFORMER_NET) x = b.stage(x, stage);
  return { output: x, batchStatistics: b.batchStatistics };
}
