// One training step as one ONNX graph: the transformation network (shared
// builder with the exported model), VGG-16 on ŷ and on the content images,
// the three losses, and the backward pass to every network parameter. Its
// outputs are the loss terms, the 62 gradients (in the tfjs layouts, so they
// flatten into the same buffer the reducer averages) and, for batch norm,
// each layer's batch statistics for the running averages.
//
// Shapes are static: one graph per (batch, height, width).
import { GraphBuilder } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";
import { serializeModel } from "../../model/onnx/serialize.js";
import {
  appendTransformerNet,
  type BatchStatistics,
  type Normalization,
  type Upsampling,
} from "../../model/onnx/transformer-net-graph.js";
import { outputLossTerms, perceptualLoss, type PerceptualLossSpec } from "./loss-graph.js";
import { appendGradients } from "./autodiff.js";

export const CONTENT_INPUT = "content";
export { LOSS_OUTPUTS } from "./loss-graph.js";
export const gradientOutput = (parameter: string): string => `grad/${parameter}`;
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
  batchStatistics: readonly Omit<BatchStatistics, "mean" | "variance">[];
  nodes: number;
}

export function buildTrainingGraph(spec: TrainingGraphSpec): TrainingGraph {
  const g = new GraphBuilder("stylekube_training_step");
  const { batch: n, height: h, width: w } = spec;
  // NHWC, as the batches arrive; one transpose to NCHW inside the graph.
  const contentNhwc = g.input(CONTENT_INPUT, [n, h, w, 3]);
  const content = ops.transpose(g, contentNhwc, [0, 3, 1, 2]);
  const params = spec.parameters.map((p) => g.input(p.name, p.shape));
  const known = new Set(params);
  const net = appendTransformerNet(
    g,
    content,
    (name) => {
      if (!known.has(name)) throw new Error(`training graph: no parameter ${name}`);
      return name;
    },
    { normalization: spec.normalization, upsampling: spec.upsampling, training: true },
  );
  const yHat = net.output;

  const loss = perceptualLoss(g, yHat, content, spec);

  const grads = appendGradients(g, loss.total, params);
  outputLossTerms(g, loss);
  for (const p of params) g.namedOutput(grads.get(p)!, gradientOutput(p));
  for (const s of net.batchStatistics) {
    g.namedOutput(s.mean, batchMeanOutput(s.layer));
    g.namedOutput(s.variance, batchVarianceOutput(s.layer));
  }
  return {
    bytes: serializeModel(g, { producer: "stylekube-trainer", producerVersion: "1" }),
    batchStatistics: net.batchStatistics.map(({ layer, count }) => ({ layer, count })),
    nodes: g.nodes.length,
  };
}
