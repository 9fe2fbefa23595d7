// Worker-thread entry: owns a tfjs engine and the networks loaded into it,
// and stylises one image at a time (the HTTP thread never sends a second
// "run" before the first answered). See inference-protocol.ts for why.
import { parentPort, workerData } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";
import { openStore } from "../common/storage/index.js";
import { initInferenceEngine } from "../model/engine/engines.js";
import { loadModel } from "../model/model-export.js";
import type { TransformerNet } from "../model/transformer-net.js";
import type { FromWorker, ToWorker, WorkerInit } from "./inference-protocol.js";
import { cropToRgb, padToNetworkInput } from "./padding.js";

const port = parentPort;
if (!port) throw new Error("inference-worker.ts must run as a worker thread");
const init = workerData as WorkerInit;
const post = (msg: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(msg, transfer);
const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

const models = new Map<number, TransformerNet>();
const store = openStore();

async function run(msg: Extract<ToWorker, { type: "run" }>): Promise<void> {
  const net = models.get(msg.modelId);
  if (!net) throw new Error(`model ${msg.modelId} is not loaded in this worker`);
  const padded = padToNetworkInput(msg.rgb, msg.width, msg.height);
  const x = tf.tensor4d(padded.data, [1, padded.height, padded.width, 3]);
  let y: tf.Tensor4D | undefined;
  try {
    const t0 = performance.now();
    y = net.apply(x, { training: false });
    const values = await y.data();
    const inferenceMs = performance.now() - t0;
    const rgb = cropToRgb(values, padded.width, msg.width, msg.height);
    post({ type: "result", jobId: msg.jobId, rgb, width: msg.width, height: msg.height, inferenceMs }, [
      rgb.buffer as ArrayBuffer,
    ]);
  } finally {
    x.dispose();
    y?.dispose();
  }
}

async function handle(msg: ToWorker): Promise<void> {
  switch (msg.type) {
    case "load":
      try {
        const { net, description } = await loadModel(store, msg.uri);
        models.set(msg.modelId, net);
        post({ type: "loaded", modelId: msg.modelId, description });
      } catch (err) {
        post({ type: "load-failed", modelId: msg.modelId, message: message(err) });
      }
      return;
    case "unload":
      models.get(msg.modelId)?.dispose();
      models.delete(msg.modelId);
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

try {
  const info = await initInferenceEngine(init.engine);
  port.on("message", (msg: ToWorker) => void handle(msg));
  post({
    type: "ready",
    engine: {
      engine: info.engine,
      backend: info.backend,
      ...(info.threads !== undefined ? { threads: info.threads } : {}),
    },
  });
} catch (err) {
  post({ type: "init-failed", message: message(err) });
}
