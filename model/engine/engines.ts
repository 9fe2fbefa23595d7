// The compute engine of a process that runs the transformation network:
// which tfjs backend, loaded how. Inference needs only this; the trainer
// registers its gradient kernels on top through EngineHooks
// (trainer/engine/engines.ts), so the model server links no training code.
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";
import type { Engine } from "../../common/api/index.js";
import { createLogger } from "../../common/log/logger.js";
import { wasmThreadsFor } from "../../common/worker-env.js";
import { prepareWasmThreads } from "./wasm-threads.js";
import { installWebGpu } from "./webgpu.js";

const log = createLogger("model.engine");

export type EngineName = Engine;
export type ConcreteEngine = Exclude<EngineName, "auto">;

/** The order "auto" tries, fastest first (docs/operator.md, engines). */
export const AUTO_ORDER: readonly ConcreteEngine[] = ["webgpu", "tensorflow", "wasm", "cpu"];

export interface EngineInfo {
  /** The engine asked for after "auto" was resolved. */
  engine: ConcreteEngine;
  /** The tfjs backend name now active. */
  backend: string;
  /** wasm only: the threads XNNPACK actually runs with. */
  threads?: number;
}

/** What a caller adds to an engine's start (the trainer: its gradient kernels). */
export interface EngineHooks {
  /** After the engine's package is imported, before its backend starts: register kernels. */
  beforeStart?(engine: ConcreteEngine, backend: string): void;
  /** Why this process cannot use the backend (undefined: it can); "auto" then tries the next engine. */
  refuse?(engine: ConcreteEngine, backend: string): string | undefined;
}

export interface InitEngineOptions {
  /**
   * Threads of the wasm engine (XNNPACK's thread pool), only honoured by the
   * first wasm initialisation of the process. Default: the
   * STYLEKUBE_WASM_THREADS environment variable, else 1. Above 1 the
   * threaded SIMD binary is loaded on Node worker_threads (see
   * wasm-threads.ts).
   */
  wasmThreads?: number;
  hooks?: EngineHooks;
  /**
   * webgpu named: accept a software (CPU-emulated) adapter. Default true (a
   * name is a request); false for a caller that tries webgpu first on its
   * own "auto" (the model server), which must skip such adapters like "auto" does.
   */
  allowSoftwareAdapter?: boolean;
}

export interface WasmModule {
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

let wasmModule: WasmModule | undefined;
let wasmRegistered = false;
let warnedSoftwareAdapter = false;
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

/** Imports a package that may not be installed; the specifier is a variable so TypeScript does not need its types. */
export async function importOptional(specifier: string): Promise<unknown> {
  return (await import(specifier)) as unknown;
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Imports the wasm engine's package, which registers the "wasm" backend
 * without starting it (threads are set before its first start). Throws
 * EngineUnavailableError saying how to install it.
 */
export async function loadWasmPackage(): Promise<WasmModule> {
  try {
    return (await importOptional("@tensorflow/tfjs-backend-wasm")) as WasmModule;
  } catch (err) {
    throw new EngineUnavailableError(
      "wasm",
      `engine wasm: @tensorflow/tfjs-backend-wasm could not be loaded (${errorText(err)}); install it with npm install @tensorflow/tfjs-backend-wasm`,
    );
  }
}

/**
 * Imports libtensorflow's binding (tfjs-node-gpu, else tfjs-node), which
 * registers the "tensorflow" backend. Throws EngineUnavailableError saying
 * how to get it.
 */
export async function loadTensorflowPackage(): Promise<void> {
  try {
    await importOptional("@tensorflow/tfjs-node-gpu").catch(() => importOptional("@tensorflow/tfjs-node"));
  } catch (err) {
    throw new EngineUnavailableError(
      "tensorflow",
      `engine tensorflow: neither @tensorflow/tfjs-node-gpu nor @tensorflow/tfjs-node is installed (${errorText(err)}). ` +
        "Their install step downloads libtensorflow from storage.googleapis.com, so they are only present where that is reachable: " +
        "npm install @tensorflow/tfjs-node (CPU) or @tensorflow/tfjs-node-gpu (CUDA) there, or build the image target trainer-tfjs-node-gpu (npm run images -- trainer-tfjs-node-gpu); " +
        "use engine onnxruntime, webgpu, wasm or cpu otherwise.",
    );
  }
}

/** Makes `engine` available as a tfjs backend (importing its package when needed) and returns the backend name. */
async function register(
  engine: ConcreteEngine,
  options: InitEngineOptions,
  allowSoftware: boolean,
): Promise<string> {
  switch (engine) {
    case "onnxruntime":
      // Not a tfjs backend: the trainer (trainer/onnx/) and the model server
      // (serving/onnx-session.ts) run ONNX Runtime sessions themselves.
      throw new EngineUnavailableError(
        engine,
        "engine onnxruntime is not a tfjs backend; the trainer and the model server start it themselves",
      );
    case "cpu":
      // Registered by @tensorflow/tfjs-backend-cpu, imported above.
      return "cpu";
    case "wasm": {
      const wasm = await loadWasmPackage();
      wasmModule = wasm;
      // Only before the backend's first initialisation (tf.findBackend would start it).
      if (!wasmRegistered) {
        wasmRegistered = true;
        const threads = options.wasmThreads ?? wasmThreadsFromEnv();
        if (threads > 1) afterWasmInit = prepareWasmThreads(wasm, threads);
      }
      return "wasm";
    }
    case "tensorflow":
      await loadTensorflowPackage();
      return "tensorflow";
    case "webgpu":
      // Creates navigator.gpu (Dawn for Node) and finds an adapter before
      // the backend module is imported; throws a clear error otherwise.
      try {
        const adapter = await installWebGpu(importOptional, { allowSoftware });
        if (adapter.software && !warnedSoftwareAdapter) {
          // Once per process: tests switch engines back and forth.
          warnedSoftwareAdapter = true;
          log.warn(
            { adapter: adapter.name },
            "webgpu runs on a software (CPU-emulated) adapter, asked by name",
          );
        }
      } catch (err) {
        throw new EngineUnavailableError("webgpu", `engine webgpu: ${errorText(err)}`);
      }
      return "webgpu";
  }
}

/**
 * allowSoftware: accept a CPU-emulated WebGPU adapter (lavapipe,
 * SwiftShader): true for engine webgpu asked by name, false under "auto",
 * which must not trade a CPU engine for a GPU emulated on the same CPU.
 */
export async function tryEngine(
  engine: ConcreteEngine,
  options: InitEngineOptions,
  allowSoftware: boolean,
): Promise<EngineInfo> {
  const backend = await register(engine, options, allowSoftware);
  if (tf.findBackendFactory(backend) === null && tf.findBackend(backend) === null) {
    throw new EngineUnavailableError(
      engine,
      `engine ${engine}: backend "${backend}" did not register itself`,
    );
  }
  options.hooks?.beforeStart?.(engine, backend);
  const refused = options.hooks?.refuse?.(engine, backend);
  if (refused !== undefined) throw new EngineUnavailableError(engine, refused);
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
  const info: EngineInfo = { engine, backend: tf.getBackend() };
  if (engine === "wasm") info.threads = wasmThreadsCount();
  return info;
}

/**
 * Selects the compute engine of this process. "auto" tries AUTO_ORDER and
 * logs what it chose and why the faster ones were skipped; a named engine
 * that cannot run here fails with EngineUnavailableError.
 */
export async function initInferenceEngine(
  name: EngineName,
  options: InitEngineOptions = {},
): Promise<EngineInfo> {
  // tfjs prints a banner recommending tfjs-node on first use of the cpu
  // backend; prod mode silences tfjs's console warnings (our own logs say
  // which engine runs).
  tf.enableProdMode();
  if (name !== "auto") {
    const info = await tryEngine(name, options, options.allowSoftwareAdapter ?? true);
    log.info(
      { engine: info.engine, backend: info.backend, threads: info.threads },
      "compute engine selected",
    );
    return info;
  }
  const skipped: Record<string, string> = {};
  for (const candidate of AUTO_ORDER) {
    try {
      const info = await tryEngine(candidate, options, false);
      log.info(
        { engine: info.engine, backend: info.backend, threads: info.threads, skipped },
        `compute engine auto: chose ${info.engine}`,
      );
      if (info.engine === "cpu") {
        log.warn(
          "compute engine cpu is the pure-JavaScript fallback: fine for tests, far too slow for real training or serving",
        );
      }
      return info;
    } catch (err) {
      skipped[candidate] = errorText(err);
    }
  }
  throw new Error(`no compute engine available: ${JSON.stringify(skipped)}`);
}
