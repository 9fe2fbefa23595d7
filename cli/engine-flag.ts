// The --engine flag of `stylekube stylize` and `stylekube loss`: an engine
// by name, or by default the fastest one that works on this machine — the
// one `stylekube doctor` reports (onnxruntime on a CPU machine).
import { ENGINES } from "../common/api/index.js";
import type { ConcreteEngine, EngineName } from "../trainer/engine/engines.js";
import type { OrtProvider } from "../model/onnx/providers.js";

export const ENGINE_FLAG_USAGE = `  --engine NAME              ${ENGINES.filter((e) => e !== "auto").join(", ")} or auto; default: the fastest
                             that works here (stylekube doctor shows it: onnxruntime on a CPU machine)`;

export interface EngineFlag {
  engine: EngineName;
  /** Set when the default chose an onnxruntime provider. */
  provider?: OrtProvider;
  /** Not given: the fastest engine that works here. */
  defaulted: boolean;
}

/**
 * The engine --engine names (checked), or when it is not given the fastest
 * that works here, leaving out `except` (engines the input cannot run on).
 */
export async function engineFromFlag(
  value: string | undefined,
  except: readonly ConcreteEngine[] = [],
): Promise<EngineFlag> {
  if (value !== undefined) {
    if (!(ENGINES as readonly string[]).includes(value))
      throw new Error(`--engine must be one of ${ENGINES.join(", ")}, got ${JSON.stringify(value)}`);
    return { engine: value as EngineName, defaulted: false };
  }
  // Loaded only here: the checks load ONNX Runtime and the tfjs engines.
  const { fastestEngine } = await import("../trainer/engine/doctor.js");
  const fastest = await fastestEngine({ except });
  return { ...fastest, defaulted: true };
}
