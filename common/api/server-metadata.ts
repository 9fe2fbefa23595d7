// What a model server says about itself on GET /v2 (the Open Inference
// Protocol's server metadata: name, version, extensions) plus the engine it
// chose. The server writes it; the operator reads it from each ready replica
// and reports the engines in StyleServer.status.engine.
import { z } from "zod";

export const ServerEngineSchema = z.object({
  /** The engine that runs: onnxruntime, webgpu, tensorflow, wasm or cpu ("auto" resolved). */
  engine: z.string().min(1),
  backend: z.string().optional(),
  /** onnxruntime: the execution provider that initialised (cpu, webgpu, cuda). */
  provider: z.string().optional(),
});
export type ServerEngine = z.infer<typeof ServerEngineSchema>;

export const ServerMetadataSchema = z.object({
  name: z.string(),
  version: z.string(),
  extensions: z.array(z.string()),
  engine: ServerEngineSchema,
});
export type ServerMetadata = z.infer<typeof ServerMetadataSchema>;

/** How status.engine names one: "onnxruntime/cpu", or the tfjs engine alone ("wasm"). */
export function engineLabel(engine: ServerEngine): string {
  return engine.provider ? `${engine.engine}/${engine.provider}` : engine.engine;
}
