// One training step as one ONNX graph: the transformation network (shared
// builder with the exported model), VGG-16 on ŷ and on the content images,
// the three losses, and the backward pass to every network parameter. Its
// outputs are the loss terms, the 62 gradients (kernels in ONNX's layout,
// the rest in tfjs's; the trainer lays them out as the buffer the reducer
// averages) and, for batch norm, each layer's batch statistics for the
// running averages.
//
// Shapes are static: one graph per (batch, height, width).
import { GraphBuilder } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";
import { serializeModel } from "../../model/onnx/serialize.js";
import type { Normalization, Upsampling } from "../../model/architecture.js";
import { appendTransformerNet, type BatchStatistics } from "../../model/onnx/transformer-net-graph.js";
import { outputLossTerms, perceptualLoss, type PerceptualLossSpec } from "./loss-graph.js";
import { appendGradients } from "./autodiff.js";
import { onnxKernelShape } from "./kernel-layout.js";
import { runNarrowConvsTransposed } from "./transposed-forward-convs.js";

export const CONTENT_INPUT = "content";
export { LOSS_OUTPUTS } from "./loss-graph.js";
export const gradientOutput = (parameter: string): string => `grad/${parameter}`;
export const flippedKernelInput = (parameter: string): string => `flipped/${parameter}`;
export const batchMeanOutput = (layer: string): string => `batch_mean/${layer}`;
export const batchVarianceOutput = (layer: string): string => `batch_variance/${layer}`;

export interface TrainingGraphSpec extends PerceptualLossSpec {
  batch: number;
  height: number;
  width: number;
  normalization: Normalization;
  upsampling: Upsampling;
  /** Parameter names and shapes in the network's order (tfjs layouts). */
  parameters: readonly { name: string; shape: readonly number[] }[];
}

export interface TrainingGraph {
  bytes: Uint8Array;
  /**
   * The 4-D parameters are inputs (and their gradients outputs) in ONNX's
   * layout, the permutation [3, 2, 0, 1] of tfjs's (kernel-layout.ts); the
   * stride-1 convs' input gradients read each kernel flipped from these
   * further inputs (toFlippedOnnxKernel of the parameter).
   */
  flippedKernels: readonly { parameter: string; input: string }[];
  batchStatistics: readonly Omit<BatchStatistics, "mean" | "variance">[];
  nodes: number;
}

export function buildTrainingGraph(spec: TrainingGraphSpec): TrainingGraph {
  const g = new GraphBuilder("stylekube_training_step");
  const { batch: n, height: h, width: w } = spec;
  // NHWC, as the batches arrive; one transpose to NCHW inside the graph.
  const contentNhwc = g.input(CONTENT_INPUT, [n, h, w, 3]);
  const content = ops.transpose(g, contentNhwc, [0, 3, 1, 2]);
  const shapes = new Map(spec.parameters.map((p) => [p.name, p.shape]));
  const params = spec.parameters.map((p) =>
    g.input(p.name, p.shape.length === 4 ? onnxKernelShape(p.shape) : p.shape),
  );
  const known = new Set(params);
  const net = appendTransformerNet(
    g,
    content,
    (name) => {
      if (!known.has(name)) throw new Error(`training graph: no parameter ${name}`);
      return name;
    },
    { normalization: spec.normalization, upsampling: spec.upsampling, training: true, kernelLayout: "onnx" },
  );
  const yHat = net.output;

  const loss = perceptualLoss(g, yHat, content, spec);

  const flipped = new Map<string, string>();
  const flippedKernel = (kernel: string): string | undefined => {
    const shape = shapes.get(kernel);
    if (shape?.length !== 4) return undefined;
    let input = flipped.get(kernel);
    if (input === undefined) {
      const [o, i, kh, kw] = onnxKernelShape(shape);
      input = g.input(flippedKernelInput(kernel), [i, o, kh, kw]);
      flipped.set(kernel, input);
    }
    return input;
  };
  const grads = appendGradients(g, loss.total, params, { flippedKernel });
  runNarrowConvsTransposed(g, flipped);
  outputLossTerms(g, loss);
  for (const p of params) g.namedOutput(grads.get(p)!, gradientOutput(p));
  for (const s of net.batchStatistics) {
    g.namedOutput(s.mean, batchMeanOutput(s.layer));
    g.namedOutput(s.variance, batchVarianceOutput(s.layer));
  }
  return {
    bytes: serializeModel(g, { producer: "stylekube-trainer", producerVersion: "1" }),
    flippedKernels: [...flipped].map(([parameter, input]) => ({ parameter, input })),
    batchStatistics: net.batchStatistics.map(({ layer, count }) => ({ layer, count })),
    nodes: g.nodes.length,
  };
}
