// Worker-thread entry: owns an inference engine (a tfjs backend, or ONNX
// Runtime) and the models loaded into it, and stylises one image at a time
// (the HTTP thread never sends a second "run" before the first answered).
// See inference-protocol.ts for why.
import { parentPort, workerData } from "node:worker_threads";
import { openStore } from "../common/storage/index.js";
import { initInferenceEngine } from "../model/engine/engines.js";
import { loadModel, type ModelDescription } from "../model/model-export.js";
import { stylizeInStrips } from "../model/strip-inference.js";
import type { FromWorker, ToWorker, WorkerEngine, WorkerInit } from "./inference-protocol.js";
import { ArenaBudget } from "./onnx-arena-budget.js";
import type * as OnnxSession from "./onnx-session.js";
import type { OnnxModel, OnnxOptions } from "./onnx-session.js";
import { cropToRgb, padToNetworkInput } from "./padding.js";

const port = parentPort;
if (!port) throw new Error("inference-worker.ts must run as a worker thread");
const init = workerData as WorkerInit;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** One loaded model on this worker's engine. */
interface Runner {
  /** NHWC float32 [0, 255] of h×w (multiples of 4) → the same layout, stylised. */
  run(nhwc: Float32Array, height: number, width: number): Promise<Float32Array>;
  dispose(): void | Promise<void>;
}

const models = new Map<number, Runner>();
const store = openStore();
let loadRunner: (uri: string) => Promise<{ runner: Runner; description: ModelDescription }>;
/** Engine work that outlives a message (onnxruntime: sessions being recycled). */
let engineSettled: () => Promise<void> = () => Promise.resolve();
/** Messages being handled (runs, loads): awaited at close. */
const handling = new Set<Promise<void>>();

async function startTfjs(
  engine: Exclude<WorkerInit["engine"], "onnxruntime">,
  allowSoftwareAdapter = true,
): Promise<WorkerEngine> {
  const info = await initInferenceEngine(engine, { allowSoftwareAdapter });
  loadRunner = async (uri) => {
    const { net, description } = await loadModel(store, uri);
    const runner: Runner = {
      // In strips: the engine's memory stays bounded whatever the image size (strip-inference.ts).
      run: async (data, height, width) =>
        (await stylizeInStrips(net, { data, height, width, channels: 3 })).data,
      dispose: () => net.dispose(),
    };
    return { runner, description };
  };
  return {
    engine: info.engine,
    backend: info.backend,
    ...(info.threads !== undefined ? { threads: info.threads } : {}),
  };
}

async function startOnnx(options: OnnxOptions): Promise<WorkerEngine> {
  // Imported only when chosen: its native library is not loaded for the tfjs engines.
  let onnx: typeof OnnxSession;
  try {
    onnx = await import("./onnx-session.js");
  } catch (err) {
    throw new Error(`engine onnxruntime: onnxruntime-node could not be loaded (${message(err)})`, {
      cause: err,
    });
  }
  // Every model gets the provider the probe chose, so the one reported is the one that runs.
  const provider = await onnx.chooseProvider(options);
  const chosen = { ...options, providers: [provider] };
  // One budget for the memory all this worker's sessions keep between requests.
  const arenas = new ArenaBudget<OnnxModel>();
  engineSettled = () => arenas.settled();
  loadRunner = async (uri) => {
    const model = await onnx.loadOnnxModel(store, uri, chosen, arenas);
    return {
      runner: { run: model.run, dispose: () => model.dispose().catch(() => undefined) },
      description: model.description,
    };
  };
  return {
    engine: "onnxruntime",
    backend: "onnxruntime",
    providers: options.providers.join(","),
    provider,
  };
}

/**
 * "auto": the fastest engine that initialises, in the order measured in
 * docs/benchmarks.md: a hardware WebGPU adapter first, then ONNX Runtime on
 * the CPU (≈5× the wasm engine), then the other tfjs engines (tensorflow,
 * wasm, cpu). Each engine passed over is reported with its reason, and the
 * pool logs them, so "why not the faster one" is answered in the log.
 */
async function startEngine(): Promise<WorkerEngine> {
  if (init.engine === "onnxruntime") return startOnnx(init.onnx);
  if (init.engine !== "auto") return startTfjs(init.engine);
  const skipped: string[] = [];
  try {
    // A hardware adapter only: never a GPU emulated on this same CPU (lavapipe, SwiftShader).
    return { ...(await startTfjs("webgpu", false)), skipped };
  } catch (err) {
    skipped.push(`webgpu: ${message(err)}`);
  }
  try {
    return { ...(await startOnnx({ ...init.onnx, providers: ["cpu"] })), skipped };
  } catch (err) {
    skipped.push(`onnxruntime: ${message(err)}`);
  }
  return { ...(await startTfjs("auto")), skipped };
}

async function run(msg: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const model = models.get(msg.modelId);
  if (!model) throw new Error(`model ${msg.modelId} is not loaded in this worker`);
  const padded = padToNetworkInput(msg.rgb, msg.width, msg.height);
  const t0 = performance.now();
  const y = await model.run(padded.data, padded.height, padded.width);
  const inferenceMs = performance.now() - t0;
  const rgb = cropToRgb(y, padded.width, msg.width, msg.height);
  post({ type: "result", jobId: msg.jobId, rgb, width: msg.width, height: msg.height, inferenceMs }, [
    rgb.buffer as ArrayBuffer,
  ]);
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case "load":
      try {
        const { runner, description } = await loadRunner(msg.uri);
        models.set(msg.modelId, runner);
        post({ type: "loaded", modelId: msg.modelId, description });
      } catch (err) {
        post({ type: "load-failed", modelId: msg.modelId, message: message(err) });
      }
      return;
    case "unload":
      await models.get(msg.modelId)?.dispose();
      models.delete(msg.modelId);
      return;
    case "close":
      // Ending the thread while ONNX Runtime works natively (a session being
      // created or released) aborts the whole process, so finish first.
      await close();
      post({ type: "closed" });
      return;
    case "run":
      try {
        await run(msg);
      } catch (err) {
        post({ type: "run-failed", jobId: msg.jobId, message: message(err) });
      }
      return;
  }
}

/** Called as "close" arrives (before it joins `handling`); the pool sends nothing after it. */
async function close(): Promise<void> {
  await Promise.all([...handling]);
  await engineSettled();
  for (const [id, model] of models) {
    await model.dispose();
    models.delete(id);
  }
}
try {
  const engine = await startEngine();
  port.on("message", (msg: ToWorker) => {
    const done = handle(msg);
    handling.add(done);
    void done.finally(() => handling.delete(done));
  });
  post({ type: "ready", engine });
} catch (err) {
  post({ type: "init-failed", message: message(err) });
}
