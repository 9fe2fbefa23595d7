// The trainer's compute engine: the model's engine selection
// (model/engine/engines.ts) with the training kernels registered on top,
// and engines that cannot train refused before the first step instead of in
// the middle of it.
import * as tf from "@tensorflow/tfjs-core";
import "./tfjs.js";
import {
  type ConcreteEngine,
  type EngineInfo,
  type EngineName,
  initInferenceEngine,
} from "../../model/engine/engines.js";
import { registerFastCpuKernels } from "./cpu-kernels.js";
import { registerWasmTrainingKernels } from "./wasm-kernels.js";
import { useWebGpuKernels, type WebGpuKernels, webGpuKernelsFromEnv } from "./webgpu-kernels.js";

export {
  AUTO_ORDER,
  type ConcreteEngine,
  type EngineName,
  EngineUnavailableError,
} from "../../model/engine/engines.js";

/**
 * Every kernel one training step dispatches (transformation network forward
 * and backward, both normalisations and upsampling modes, VGG-16 forward and
 * backward to the image, the losses, Adam), plus Reverse for the Caffe input
 * convention. A backend lacking any of them can run inference but cannot
 * train (stock wasm lacks Conv2DBackpropFilter; wasm-kernels.ts adds it). Checked against the kernel
 * registry instead of hard-coding per engine, so the answer changes by
 * itself when a backend gains the kernels. A unit test profiles real steps on
 * the cpu backend and fails when this list misses one.
 */
export const TRAINING_KERNELS: readonly string[] = [
  "Add",
  "AddN",
  "AvgPool",
  "BatchMatMul",
  "Cast",
  "Concat",
  "Conv2D",
  "Conv2DBackpropFilter",
  "Conv2DBackpropInput",
  "Identity",
  "MaxPool",
  "MaxPoolGrad",
  "Mean",
  "MirrorPad",
  "Multiply",
  "Neg",
  "PadV2",
  "RealDiv",
  "Relu",
  "Reshape",
  "ResizeNearestNeighbor",
  "Reverse",
  "Slice",
  "Sqrt",
  "Square",
  "SquaredDifference",
  "Step",
  "Sub",
  "Sum",
  "Tanh",
];

export interface TrainingEngineInfo extends EngineInfo {
  /** Whether every kernel in TRAINING_KERNELS is registered for the backend. */
  canTrain: boolean;
  /** Kernels from TRAINING_KERNELS the backend lacks (empty when canTrain). */
  missingTrainingKernels: string[];
}

export interface InitEngineOptions {
  /** See model/engine/engines.ts. */
  wasmThreads?: number;
  /**
   * webgpu only: our tiled convolution gradients ("fast", the default) or
   * tfjs's naive ones ("stock", for comparisons); see webgpu-kernels.ts.
   * Default: STYLEKUBE_WEBGPU_KERNELS, else "fast".
   */
  webgpuKernels?: WebGpuKernels;
}

export function missingTrainingKernels(backend: string): string[] {
  return TRAINING_KERNELS.filter((k) => tf.getKernel(k, backend) === undefined);
}

/** Replaces or adds the kernels a training step needs on `engine` (idempotent). */
function registerTrainingKernels(engine: ConcreteEngine, options: InitEngineOptions): void {
  switch (engine) {
    case "cpu":
      // Its slowest training kernel is replaced.
      registerFastCpuKernels();
      return;
    case "wasm":
      // The stock backend lacks Conv2DBackpropFilter and has slow
      // Conv2DBackpropInput and transposed/batched BatchMatMul.
      registerWasmTrainingKernels();
      return;
    case "webgpu":
      useWebGpuKernels(options.webgpuKernels ?? webGpuKernelsFromEnv());
      return;
    case "tensorflow":
      return;
  }
}

/**
 * Selects the compute engine of a training process. "auto" skips engines
 * that cannot train, and naming such an engine fails with
 * EngineUnavailableError, instead of failing later in the first step.
 */
export async function initEngine(
  name: EngineName,
  options: InitEngineOptions = {},
): Promise<TrainingEngineInfo> {
  const info = await initInferenceEngine(name, {
    ...(options.wasmThreads !== undefined ? { wasmThreads: options.wasmThreads } : {}),
    hooks: {
      beforeStart: (engine) => registerTrainingKernels(engine, options),
      refuse: (engine, backend) => {
        const missing = missingTrainingKernels(backend);
        return missing.length === 0
          ? undefined
          : `engine ${engine} cannot train: the ${backend} backend has no gradient kernels ${missing.join(", ")}. ` +
              "It can run inference (serving); train with another engine.";
      },
    },
  });
  return { ...info, canTrain: true, missingTrainingKernels: [] };
}
