// Messages between the HTTP thread and an inference worker thread. Inference
// runs on worker threads because tfjs computes synchronously on the cpu and
// wasm engines: on the HTTP thread one 512×512 image would block health
// probes, metrics and 429s for seconds.
import type { ModelDescription } from "../model/model-export.js";
import type { ServingEngine } from "../common/api/fields.js";

export interface WorkerInit {
  engine: ServingEngine;
  /** For engine onnxruntime (and auto when it picks it). */
  onnx: { providers: ("cpu" | "webgpu" | "cuda")[]; threads: number; maxPixels: number };
}

export interface WorkerEngine {
  engine: string;
  backend: string;
  threads?: number;
  /** onnxruntime: the execution providers asked for, in order (STYLEKUBE_ONNX_PROVIDERS). */
  providers?: string;
  /** onnxruntime: the execution provider that initialised and runs every model's session. */
  provider?: string;
  /** auto: each engine tried before the chosen one, with why it was passed over. */
  skipped?: string[];
}

export type ToWorker =
  | { type: "load"; modelId: number; uri: string }
  | { type: "unload"; modelId: number }
  /** Shutting down: finish what is under way, release the models, answer "closed". */
  | { type: "close" }
  | { type: "run"; jobId: number; modelId: number; rgb: Uint8Array; width: number; height: number };

export type FromWorker =
  | { type: "ready"; engine: WorkerEngine }
  | { type: "init-failed"; message: string }
  | { type: "loaded"; modelId: number; description: ModelDescription }
  | { type: "load-failed"; modelId: number; message: string }
  | { type: "result"; jobId: number; rgb: Uint8Array; width: number; height: number; inferenceMs: number }
  | { type: "run-failed"; jobId: number; message: string }
  | { type: "closed" };
