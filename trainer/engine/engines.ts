import * as tf from "@tensorflow/tfjs-core";
import "./tfjs.js";
import type { Engine } from "../../common/api/index.js";
import { createLogger } from "../../common/log/logger.js";
import { wasmThreadsFor } from "../../common/worker-env.js";
import { registerFastCpuKernels } from "./cpu-kernels.js";
import { registerWasmTrainingKernels } from "./wasm-kernels.js";
import { prepareWasmThreads } from "./wasm-threads.js";
import type { OrtProvider } from "../onnx/onnx-trainer.js";
import { ORT_PROVIDERS, probeProvider } from "../onnx/providers.js";
import { dawnAdapter, installWebGpu } from "./webgpu.js";
import { useWebGpuKernels, type WebGpuKernels, webGpuKernelsFromEnv } from "./webgpu-kernels.js";

const log = createLogger("trainer.engine");

export type EngineName = Engine;
export type ConcreteEngine = Exclude<EngineName, "auto">;

/**
 * The order "auto" tries, fastest first (DESIGN.md, "Compute engines";
 * docs/onnx-training.md). onnxruntime here means its CUDA provider only; its
 * CPU provider comes after the GPU engines and before wasm (measured faster,
 * docs/benchmarks.md); its WebGPU provider only when asked for
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

export interface EngineInfo {
  /** The engine asked for after "auto" was resolved. */
  engine: ConcreteEngine;
  /** The tfjs backend name now active. */
  backend: string;
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
  /**
   * The process will train (default). Then "auto" skips engines that cannot
   * train, and naming such an engine explicitly fails, instead of failing
   * later in the middle of the first step.
   */
  training?: boolean;
  /**
   * Threads of the wasm engine (XNNPACK's thread pool), only honoured by the
   * first wasm initialisation of the process. Default: the
   * STYLEKUBE_WASM_THREADS environment variable, else 1. Above 1 the
   * threaded SIMD binary is loaded on Node worker_threads (see
   * wasm-threads.ts).
   */
  wasmThreads?: number;
  /**
   * webgpu only: our tiled convolution gradients ("fast", the default) or
   * tfjs's naive ones ("stock", for comparisons); see webgpu-kernels.ts.
   * Default: STYLEKUBE_WEBGPU_KERNELS, else "fast".
   */
  webgpuKernels?: WebGpuKernels;
  /**
   * Accept a CPU-emulated WebGPU adapter (lavapipe, SwiftShader). Set by
   * initEngine: true for engine webgpu asked by name, false under "auto".
   */
  allowSoftwareAdapter?: boolean;
  /**
   * onnxruntime only: the execution provider, or "auto" (cuda, then a
   * hardware webgpu adapter, then cpu). Default: STYLEKUBE_ORT_PROVIDER.
   */
  ortProvider?: OrtProvider | "auto";
}

let ortProvider: OrtProvider | undefined;

/**
 * The provider of the onnxruntime engine: the one asked for, or under
 * "auto" the first of cuda, webgpu, cpu that runs a conv here, skipping a
 * software WebGPU adapter unless software adapters are allowed. Throws
 * with one line per provider that failed.
 */
async function selectOrtProvider(options: InitEngineOptions): Promise<OrtProvider> {
  const wanted = options.ortProvider ?? ortProviderFromEnv();
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

interface WasmModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

let wasmModule: WasmModule | undefined;
let wasmRegistered = false;
/** Undoes what prepareWasmThreads changed for the backend's initialisation. */
let afterWasmInit: (() => void) | undefined;

function wasmThreadsFromEnv(): number {
  return wasmThreadsFor(Number(process.env.STYLEKUBE_WASM_THREADS ?? "1"));
}

function wasmThreadsCount(): number | undefined {
  try {
    return wasmModule?.getThreadsCount();
  } catch {
    return undefined;
  }
}

/** Thrown when an engine cannot be used here; the message says why and what to do. */
export class EngineUnavailableError extends Error {
  constructor(
    readonly engine: ConcreteEngine,
    message: string,
  ) {
    super(message);
    this.name = "EngineUnavailableError";
  }
}

export function missingTrainingKernels(backend: string): string[] {
  return TRAINING_KERNELS.filter((k) => tf.getKernel(k, backend) === undefined);
}

/** Imports a package that may not be installed; the specifier is a variable so TypeScript does not need its types. */
async function importOptional(specifier: string): Promise<unknown> {
  return (await import(specifier)) as unknown;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Makes `engine` available as a tfjs backend (importing its package when needed) and returns the backend name. */
async function register(engine: ConcreteEngine, options: InitEngineOptions): Promise<string> {
  switch (engine) {
    case "cpu":
      // Registered by ./tfjs.js; its slowest training kernel is replaced.
      registerFastCpuKernels();
      return "cpu";
    case "wasm": {
      let wasm: WasmModule;
      try {
        wasm = (await importOptional("@tensorflow/tfjs-backend-wasm")) as WasmModule;
        wasmModule = wasm;
      } catch (err) {
        throw new EngineUnavailableError(
          "wasm",
          `engine wasm: @tensorflow/tfjs-backend-wasm could not be loaded (${errorText(err)}); install it with npm install @tensorflow/tfjs-backend-wasm`,
        );
      }
      // The stock backend lacks Conv2DBackpropFilter and has slow
      // Conv2DBackpropInput and transposed/batched BatchMatMul.
      registerWasmTrainingKernels();
      // Only before the backend's first initialisation (tf.findBackend would start it).
      if (!wasmRegistered) {
        wasmRegistered = true;
        const threads = options.wasmThreads ?? wasmThreadsFromEnv();
        if (threads > 1) afterWasmInit = prepareWasmThreads(wasm, threads);
      }
      return "wasm";
    }
    case "tensorflow":
      try {
        // Registers the "tensorflow" backend as a side effect.
        await importOptional("@tensorflow/tfjs-node-gpu").catch(() =>
          importOptional("@tensorflow/tfjs-node"),
        );
      } catch (err) {
        throw new EngineUnavailableError(
          "tensorflow",
          `engine tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (${errorText(err)}). ` +
            "Their install step downloads libtensorflow, so they are only present in images built with internet access; use engine webgpu, wasm or cpu otherwise.",
        );
      }
      return "tensorflow";
    case "onnxruntime":
      // The step runs in ONNX Runtime; tfjs's cpu backend only holds the
      // weights and runs Adam (and batch norm's running averages).
      ortProvider = await selectOrtProvider(options);
      registerFastCpuKernels();
      return "cpu";
    case "webgpu":
      // Creates navigator.gpu (Dawn for Node) and finds an adapter before
      // the backend module is imported; throws a clear error otherwise.
      try {
        const adapter = await installWebGpu(importOptional, {
          allowSoftware: options.allowSoftwareAdapter ?? true,
        });
        if (adapter.software) {
          log.warn(
            { adapter: adapter.name },
            "webgpu runs on a software (CPU-emulated) adapter, asked by name",
          );
        }
      } catch (err) {
        throw new EngineUnavailableError("webgpu", `engine webgpu: ${errorText(err)}`);
      }
      useWebGpuKernels(options.webgpuKernels ?? webGpuKernelsFromEnv());
      return "webgpu";
  }
}

async function tryEngine(engine: ConcreteEngine, options: InitEngineOptions): Promise<EngineInfo> {
  const training = options.training ?? true;
  const backend = await register(engine, options);
  if (tf.findBackendFactory(backend) === null && tf.findBackend(backend) === null) {
    throw new EngineUnavailableError(
      engine,
      `engine ${engine}: backend "${backend}" did not register itself`,
    );
  }
  const missing = missingTrainingKernels(backend);
  if (training && missing.length > 0) {
    throw new EngineUnavailableError(
      engine,
      `engine ${engine} cannot train: the ${backend} backend has no gradient kernels ${missing.join(", ")}. ` +
        "It can run inference (serving); train with another engine.",
    );
  }
  let ok: boolean;
  try {
    ok = await tf.setBackend(backend);
  } catch (err) {
    throw new EngineUnavailableError(
      engine,
      `engine ${engine}: backend "${backend}" failed to start: ${errorText(err)}`,
    );
  } finally {
    if (engine === "wasm") {
      afterWasmInit?.();
      afterWasmInit = undefined;
    }
  }
  if (!ok) throw new EngineUnavailableError(engine, `engine ${engine}: backend "${backend}" failed to start`);
  await tf.ready();
  const info: EngineInfo = {
    engine,
    backend: tf.getBackend(),
    canTrain: missing.length === 0,
    missingTrainingKernels: missing,
  };
  if (engine === "wasm") info.threads = wasmThreadsCount();
  if (engine === "onnxruntime") {
    info.provider = ortProvider;
    info.threads = options.wasmThreads ?? wasmThreadsFromEnv();
  }
  return info;
}

/**
 * Selects the compute engine of this process. "auto" tries AUTO_ORDER and
 * logs what it chose and why the faster ones were skipped; a named engine
 * that cannot run here fails with EngineUnavailableError.
 */
export async function initEngine(name: EngineName, options: InitEngineOptions = {}): Promise<EngineInfo> {
  // tfjs prints a banner recommending tfjs-node on first use of the cpu
  // backend; prod mode silences tfjs's console warnings (our own logs say
  // which engine runs).
  tf.enableProdMode();
  if (name !== "auto") {
    const info = await tryEngine(name, options);
    log.info(
      {
        engine: info.engine,
        backend: info.backend,
        canTrain: info.canTrain,
        threads: info.threads,
        provider: info.provider,
      },
      "compute engine selected",
    );
    return info;
  }
  const skipped: Record<string, string> = {};
  for (const { engine: candidate, provider } of AUTO_ORDER) {
    const label = provider === undefined ? candidate : `${candidate} ${provider}`;
    try {
      const info = await tryEngine(candidate, {
        ...options,
        allowSoftwareAdapter: false,
        ...(provider === undefined ? {} : { ortProvider: provider }),
      });
      log.info(
        {
          engine: info.engine,
          backend: info.backend,
          canTrain: info.canTrain,
          threads: info.threads,
          provider: info.provider,
          skipped,
        },
        `compute engine auto: chose ${label}`,
      );
      if (info.engine === "cpu") {
        log.warn(
          "compute engine cpu is the pure-JavaScript fallback: fine for tests, far too slow for real training",
        );
      }
      return info;
    } catch (err) {
      skipped[label] = errorText(err);
    }
  }
  throw new Error(`no compute engine available: ${JSON.stringify(skipped)}`);
}
