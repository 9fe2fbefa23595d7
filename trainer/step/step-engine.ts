// The seam between the worker and the compute engine: everything the worker
// asks of an engine — the style targets G(y_s), the gradient of one batch,
// the checkpoint's previews — behind one interface, with one implementation
// per kind of engine, chosen here and nowhere else. The worker never
// branches on the engine.
import type { ObjectStore } from "../../common/storage/index.js";
import type { ProgressMessage } from "../../common/progress.js";
import type { TransformerNet } from "../../model/transformer-net.js";
import type { TrainingEngineInfo } from "../engine/engines.js";
import type { Vgg16, VggLayer } from "../loss-network/vgg16.js";
import type { LossValues } from "../losses/index.js";
import type { StyleTargets } from "../losses/style-reconstruction.js";
import type { PreviewPhoto } from "../previews/preview-photos.js";
import type { TrainStepSetup } from "../train-step.js";
import { onnxStepEngine } from "./onnx-step-engine.js";
import { tfjsStepEngine } from "./tfjs-step-engine.js";

/** One batch of content images: NHWC float32 RGB in [0, 255]. */
export interface ContentBatch {
  data: Float32Array;
  shape: [number, number, number, number];
}

/** The training step of one network on one engine. */
export interface GradientStep {
  /** The loss terms and ∂L/∂θ of every parameter, flat in the network's order (the reducer's buffer). */
  computeGradients(batch: ContentBatch): Promise<{ loss: LossValues; flat: Float32Array }>;
  dispose(): Promise<void>;
}

/** An RGB image in [0, 255], HWC float32. */
export interface StyleImage {
  data: Float32Array;
  height: number;
  width: number;
}

export interface StepEngine {
  /** G(y_s) at the style layers (eq. 3), once per job. */
  styleTargets(vgg: Vgg16, image: StyleImage, layers: readonly VggLayer[]): Promise<StyleTargets>;
  /** The step for this setup; `batchSize` and `imageSize` let an engine plan its passes. */
  gradientStep(setup: TrainStepSetup, shape: { batchSize: number; imageSize: number }): GradientStep;
  /** Writes the checkpoint's previews of the network as it is now. */
  writePreviews(
    store: ObjectStore,
    output: string,
    net: TransformerNet,
    photos: readonly PreviewPhoto[],
    step: number,
  ): Promise<NonNullable<ProgressMessage["preview"]>>;
}

/**
 * The implementation for the engine initEngine chose: the onnxruntime engine
 * runs all three in ONNX Runtime sessions (its tfjs backend is the
 * pure-JavaScript cpu one, which only runs Adam); every other engine in tfjs.
 */
export function stepEngineFor(engine: TrainingEngineInfo): StepEngine {
  return engine.engine === "onnxruntime" && engine.provider !== undefined
    ? onnxStepEngine({ provider: engine.provider, threads: engine.threads ?? 1 })
    : tfjsStepEngine(engine.engine);
}
