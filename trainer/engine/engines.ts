// The trainer's compute engine: the model's engine selection
// (model/engine/engines.ts) with the training kernels registered on top,
// and engines that cannot train refused before the first step instead of in
// the middle of it.
import * as tf from "@tensorflow/tfjs-core";
import "./tfjs.js";
import { createLogger } from "../../common/log/logger.js";
import { wasmThreadsFor } from "../../common/worker-env.js";
import {
  type ConcreteEngine,
  type EngineInfo,
  type EngineName,
  EngineUnavailableError,
  errorText,
  importOptional,
  tryEngine,
} from "../../model/engine/engines.js";
import { dawnAdapter } from "../../model/engine/webgpu.js";
import { ORT_PROVIDERS, type OrtProvider, probeProvider } from "../../model/onnx/providers.js";
import { registerFastCpuKernels } from "./cpu-kernels.js";
import { registerWasmTrainingKernels } from "./wasm-kernels.js";
import { useWebGpuKernels, type WebGpuKernels, webGpuKernelsFromEnv } from "./webgpu-kernels.js";

export { type ConcreteEngine, type EngineName, EngineUnavailableError } from "../../model/engine/engines.js";

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
  /** wasm: the threads XNNPACK actually runs with; onnxruntime: the CPU provider's intra-op threads. */
  threads?: number;
  /** onnxruntime only: the execution provider the training step runs on. */
  provider?: OrtProvider;
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
  /**
   * onnxruntime only: the execution provider, or "auto" (cuda, then a
   * hardware webgpu adapter, then cpu). Default: STYLEKUBE_ORT_PROVIDER.
   */
  ortProvider?: OrtProvider | "auto";
}

const log = createLogger("trainer.engine");

/**
 * The order a training process's "auto" tries, fastest first
 * (docs/onnx-training.md): onnxruntime on CUDA, a hardware WebGPU adapter,
 * tensorflow, then onnxruntime on the CPU before wasm (measured faster,
 * docs/benchmarks.md). ONNX Runtime's WebGPU provider only when asked for
 * (STYLEKUBE_ORT_PROVIDER=webgpu), until measured on a GPU.
 */
export const AUTO_ORDER: readonly { engine: ConcreteEngine; provider?: OrtProvider }[] = [
  { engine: "onnxruntime", provider: "cuda" },
  { engine: "webgpu" },
  { engine: "tensorflow" },
  { engine: "onnxruntime", provider: "cpu" },
  { engine: "wasm" },
  { engine: "cpu" },
];

/** The provider asked for by STYLEKUBE_ORT_PROVIDER (cpu, webgpu, cuda; unset or auto: the fastest that works). */
export function ortProviderFromEnv(env: NodeJS.ProcessEnv = process.env): OrtProvider | "auto" {
  const value = env.STYLEKUBE_ORT_PROVIDER ?? "auto";
  if (value === "auto" || (ORT_PROVIDERS as readonly string[]).includes(value))
    return value as OrtProvider | "auto";
  throw new Error(`STYLEKUBE_ORT_PROVIDER=${value}: use one of auto, ${ORT_PROVIDERS.join(", ")}`);
}

/**
 * The provider of the onnxruntime engine: the one asked for, or under
 * "auto" the first of cuda, webgpu, cpu that runs a conv here, skipping a
 * software WebGPU adapter. Throws with one line per provider that failed.
 */
async function selectOrtProvider(wanted: OrtProvider | "auto"): Promise<OrtProvider> {
  const candidates: readonly OrtProvider[] = wanted === "auto" ? ["cuda", "webgpu", "cpu"] : [wanted];
  const reasons: string[] = [];
  for (const provider of candidates) {
    if (provider === "webgpu" && wanted === "auto") {
      const adapter = await dawnAdapter(importOptional).catch((err: unknown) => errorText(err));
      if (typeof adapter === "string" || adapter.software) {
        reasons.push(
          `onnxruntime webgpu: ${typeof adapter === "string" ? adapter : `software adapter ${adapter.name}, only used when asked for by name`}`,
        );
        continue;
      }
    }
    const failure = await probeProvider(provider);
    if (failure === undefined) {
      if (reasons.length > 0) log.info({ provider, skipped: reasons }, "onnxruntime provider chosen");
      return provider;
    }
    reasons.push(failure);
  }
  throw new EngineUnavailableError("onnxruntime", `engine onnxruntime: ${reasons.join("; ")}`);
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

/** The engine's start options with the trainer's hooks: its gradient kernels, and refusal of backends that cannot train. */
function trainingOptions(options: InitEngineOptions) {
  return {
    ...(options.wasmThreads !== undefined ? { wasmThreads: options.wasmThreads } : {}),
    hooks: {
      beforeStart: (engine: ConcreteEngine) => registerTrainingKernels(engine, options),
      refuse: (engine: ConcreteEngine, backend: string) => {
        const missing = missingTrainingKernels(backend);
        return missing.length === 0
          ? undefined
          : `engine ${engine} cannot train: the ${backend} backend has no gradient kernels ${missing.join(", ")}. ` +
              "It can run inference (serving); train with another engine.";
      },
    },
  };
}

/**
 * One candidate engine. onnxruntime runs the whole step in ONNX Runtime;
 * tfjs's cpu backend only holds the weights and runs Adam (and batch norm's
 * running averages).
 */
async function tryTrainingEngine(
  candidate: { engine: ConcreteEngine; provider?: OrtProvider },
  options: InitEngineOptions,
  allowSoftware: boolean,
): Promise<TrainingEngineInfo> {
  if (candidate.engine === "onnxruntime") {
    const provider = await selectOrtProvider(
      candidate.provider ?? options.ortProvider ?? ortProviderFromEnv(),
    );
    const info = await tryEngine("cpu", trainingOptions(options), true);
    const threads = options.wasmThreads ?? wasmThreadsFor(Number(process.env.STYLEKUBE_WASM_THREADS ?? "1"));
    return { ...info, engine: "onnxruntime", provider, threads, canTrain: true, missingTrainingKernels: [] };
  }
  const info = await tryEngine(candidate.engine, trainingOptions(options), allowSoftware);
  return { ...info, canTrain: true, missingTrainingKernels: [] };
}

/**
 * Selects the compute engine of a training process. "auto" tries AUTO_ORDER,
 * skips engines that cannot train and software GPU adapters, and logs what it
 * chose and why the faster ones were skipped; naming an engine that cannot
 * run or train here fails with EngineUnavailableError, instead of failing
 * later in the first step.
 */
export async function initEngine(
  name: EngineName,
  options: InitEngineOptions = {},
): Promise<TrainingEngineInfo> {
  // prod mode silences tfjs's console warnings (our own logs say which engine runs).
  tf.enableProdMode();
  if (name !== "auto") {
    const info = await tryTrainingEngine({ engine: name }, options, true);
    log.info(
      { engine: info.engine, backend: info.backend, threads: info.threads, provider: info.provider },
      "compute engine selected",
    );
    return info;
  }
  const skipped: Record<string, string> = {};
  for (const candidate of AUTO_ORDER) {
    const label =
      candidate.provider === undefined ? candidate.engine : `${candidate.engine} ${candidate.provider}`;
    try {
      const info = await tryTrainingEngine(candidate, options, false);
      log.info(
        {
          engine: info.engine,
          backend: info.backend,
          threads: info.threads,
          provider: info.provider,
          skipped,
        },
        `compute engine auto: chose ${label}`,
      );
      if (info.engine === "cpu")
        log.warn(
          "compute engine cpu is the pure-JavaScript fallback: fine for tests, far too slow for real training",
        );
      return info;
    } catch (err) {
      skipped[label] = errorText(err);
    }
  }
  throw new Error(`no compute engine available: ${JSON.stringify(skipped)}`);
}
