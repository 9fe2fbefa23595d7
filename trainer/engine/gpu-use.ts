// A worker given GPUs that trains without one is the costliest silent
// failure a training can have (the same model, many times slower), so the
// worker says so loudly at start, with the reason each GPU engine gave.
import type { DoctorReport } from "./doctor.js";
import { engineLabel } from "./doctor.js";
import type { TrainingEngineInfo } from "./engines.js";

/** Whether the chosen engine computes on a GPU (a software WebGPU adapter is never chosen by auto). */
export function engineUsesGpu(engine: Pick<TrainingEngineInfo, "engine" | "provider">): boolean {
  if (engine.engine === "onnxruntime") return engine.provider === "cuda" || engine.provider === "webgpu";
  return engine.engine === "webgpu" || engine.engine === "tensorflow";
}

/**
 * undefined when the worker has no GPU or trains on one; else one line that
 * says it trains on the CPU although `gpus` GPUs were requested, and why
 * each GPU engine was not usable (from the doctor report the worker logs).
 */
export function gpuNotUsedMessage(
  gpus: number,
  engine: Pick<TrainingEngineInfo, "engine" | "provider">,
  report: DoctorReport,
): string | undefined {
  if (gpus <= 0 || engineUsesGpu(engine)) return undefined;
  const reasons = report.checks
    .filter((c) => c.status === "unavailable" && engineUsesGpu(c))
    .map((c) => `${engineLabel(c)}: ${c.detail}`);
  return (
    `this worker was given ${gpus} GPU(s) (spec.resources.gpu) but trains on the CPU with ${engineLabel({ engine: engine.engine, provider: engine.provider })}` +
    (reasons.length > 0 ? `. Why not on the GPU: ${reasons.join("; ")}` : "") +
    ". The CUDA image (npm run images -- --gpu, the operator's STYLEKUBE_TRAINER_CUDA_IMAGE) has ONNX Runtime's CUDA provider; docs/operations.md#gpu-nodes-and-images"
  );
}
