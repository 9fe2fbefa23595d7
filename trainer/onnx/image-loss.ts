// The paper's loss of one image and its gradient with respect to the pixels,
// as one ONNX Runtime session: what Gatys et al.'s optimisation (the paper's
// baseline, trainer/gatys/) evaluates at every iteration. The same loss
// network and loss graphs as the training step (loss-graph.ts), with the
// image itself as the variable instead of the transformation network's
// weights. The content photo and the style targets are initialisers, so
// φ(y_c) is constant-folded once when the session is created.
import { availableParallelism } from "node:os";
import type * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";
import { serializeModel } from "../../model/onnx/serialize.js";
import type { LossProblem } from "../gatys/loss-problem.js";
import type { Vgg16, VggLayer } from "../loss-network/vgg16.js";
import type { LossLayers, LossValues, LossWeights } from "../losses/perceptual-loss.js";
import { appendGradients } from "./autodiff.js";
import { LOSS_OUTPUTS, outputLossTerms, perceptualLoss, type PoolIndices } from "./loss-graph.js";
import {
  poolIndicesFor,
  sessionOptions,
  vggGraphData,
  type OnnxTrainerOptions,
  type OrtProvider,
} from "./onnx-trainer.js";

const IMAGE_INPUT = "image";
const IMAGE_GRADIENT = "grad/image";

export interface ImageLossSpec {
  vgg: Vgg16;
  /** y_c: RGB in [0, 255], NHWC [1, height, width, 3]. */
  content: Float32Array;
  height: number;
  width: number;
  /** G(y_s) per style layer, [1, C, C] row-major. */
  styleTargets: ReadonlyMap<VggLayer, { data: Float32Array; channels: number }>;
  layers: LossLayers;
  weights: LossWeights;
}

async function imageLossGraph(spec: ImageLossSpec, pools: PoolIndices): Promise<Uint8Array> {
  const g = new GraphBuilder("stylekube_image_loss");
  const { height: h, width: w } = spec;
  const image = g.input(IMAGE_INPUT, [1, h, w, 3]);
  const yHat = ops.transpose(g, image, [0, 3, 1, 2]);
  const content = ops.transpose(g, g.initializer("content", spec.content, [1, h, w, 3]), [0, 3, 1, 2]);
  const loss = perceptualLoss(g, yHat, content, { ...spec, vgg: await vggGraphData(spec.vgg), pools });
  g.namedOutput(appendGradients(g, loss.total, [image]).get(image)!, IMAGE_GRADIENT);
  outputLossTerms(g, loss);
  return serializeModel(g, { producer: "stylekube-trainer", producerVersion: "1" });
}

/** Loss terms of an image (λ-weighted total, unweighted terms) and ∂total/∂pixels. */
export interface ImageLossEvaluation {
  loss: LossValues;
  gradient: Float32Array;
}

export class OnnxImageLoss {
  private constructor(
    private readonly session: ort.InferenceSession,
    private readonly shape: [number, number, number, number],
  ) {}

  /** For a loss problem of the CLI tools and one content photo ([1, H, W, 3] in [0, 255]). */
  static async forProblem(
    problem: LossProblem,
    content: tf.Tensor4D,
    options: OnnxTrainerOptions,
  ): Promise<OnnxImageLoss> {
    const styleTargets = new Map<VggLayer, { data: Float32Array; channels: number }>();
    for (const [layer, t] of problem.styleTargets) {
      styleTargets.set(layer, { data: (await t.data()) as Float32Array, channels: t.shape[1] });
    }
    const [, height, width] = content.shape;
    return OnnxImageLoss.create(
      {
        vgg: problem.vgg,
        content: (await content.data()) as Float32Array,
        height,
        width,
        styleTargets,
        layers: problem.layers,
        weights: problem.weights,
      },
      options,
    );
  }

  static async create(spec: ImageLossSpec, options: OnnxTrainerOptions): Promise<OnnxImageLoss> {
    const session = await ort.InferenceSession.create(
      await imageLossGraph(spec, poolIndicesFor(options.provider)),
      sessionOptions(options),
    );
    return new OnnxImageLoss(session, [1, spec.height, spec.width, 3]);
  }

  /** The loss of `image` (NHWC RGB in [0, 255], the content photo's size) and its gradient. */
  async evaluate(image: Float32Array): Promise<ImageLossEvaluation> {
    const results = await this.session.run({ [IMAGE_INPUT]: new ort.Tensor("float32", image, this.shape) });
    const scalar = (name: string) => (results[name]?.data as Float32Array | undefined)?.[0] ?? NaN;
    const gradient = Float32Array.from(results[IMAGE_GRADIENT]!.data as Float32Array);
    const loss: LossValues = {
      total: scalar(LOSS_OUTPUTS.total),
      content: scalar(LOSS_OUTPUTS.content),
      style: scalar(LOSS_OUTPUTS.style),
      tv: scalar(LOSS_OUTPUTS.tv),
    };
    for (const t of Object.values(results)) t.dispose();
    return { loss, gradient };
  }

  async dispose(): Promise<void> {
    await this.session.release();
  }
}

/**
 * The session options of the onnxruntime engine when it is the one
 * initialised (undefined for the tfjs engines), its threads capped at this
 * machine's cores (the CLI tools ask for many, meant for wasm's pool).
 */
export function onnxOptionsOf(engine: {
  engine: string;
  provider?: OrtProvider;
  threads?: number;
}): OnnxTrainerOptions | undefined {
  if (engine.engine !== "onnxruntime" || engine.provider === undefined) return undefined;
  return { provider: engine.provider, threads: Math.min(engine.threads ?? 1, availableParallelism()) };
}
