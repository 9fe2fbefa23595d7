// Which compute engines and ONNX Runtime providers work on this machine, and
// where one does not, why and what to install: `stylekube doctor` prints it,
// every training worker logs it at start, and the CLI tools run on the
// fastest one that works (fastestEngine). Each check is the probe the engine
// itself runs when it starts, without starting it: a process that checks
// first and then starts an engine (the worker) starts it as if unchecked.
import { platform, arch } from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import { ENGINES } from "../../common/api/index.js";
import {
  type ConcreteEngine,
  errorText,
  importOptional,
  loadTensorflowPackage,
  loadWasmPackage,
} from "../../model/engine/engines.js";
import { findVulkanSetup, vulkanAdvice } from "../../model/engine/vulkan.js";
import { dawnAdapter } from "../../model/engine/webgpu.js";
import { ORT_PROVIDERS, type OrtProvider, probeProvider } from "../../model/onnx/providers.js";
import { AUTO_ORDER } from "./engines.js";

const CONCRETE_ENGINES = ENGINES.filter((e): e is ConcreteEngine => e !== "auto");

export const EngineChoiceSchema = z.object({
  engine: z.enum(CONCRETE_ENGINES).describe("the compute engine (spec.engine, --engine)"),
  provider: z
    .enum(ORT_PROVIDERS)
    .optional()
    .describe("engine onnxruntime: the execution provider (STYLEKUBE_ORT_PROVIDER)"),
});
export type EngineChoice = z.infer<typeof EngineChoiceSchema>;

export const EngineCheckSchema = EngineChoiceSchema.extend({
  status: z.enum(["ok", "unavailable"]),
  detail: z
    .string()
    .describe("ok: what runs (device, package); unavailable: why, and what to install or set to fix it"),
  softwareAdapter: z
    .boolean()
    .optional()
    .describe("a CPU-emulated WebGPU adapter (lavapipe, SwiftShader): used only when asked for by name"),
});
export type EngineCheck = z.infer<typeof EngineCheckSchema>;

export const DoctorReportSchema = z.object({
  machine: z.object({ platform: z.string(), arch: z.string(), node: z.string() }),
  checks: z.array(EngineCheckSchema),
  fastest: EngineChoiceSchema.describe(
    "the first of engine auto's order that works here on real hardware: what a training's auto picks, and the CLI tools' default",
  ),
});
export type DoctorReport = z.infer<typeof DoctorReportSchema>;

/** Every engine and provider checked, in the order `stylekube doctor` lists them. */
export const CHECKED: readonly EngineChoice[] = [
  ...ORT_PROVIDERS.map((provider) => ({ engine: "onnxruntime" as const, provider })),
  { engine: "webgpu" },
  { engine: "tensorflow" },
  { engine: "wasm" },
  { engine: "cpu" },
];

/** "onnxruntime cuda", "wasm": how logs and the table name an engine. */
export function engineLabel(choice: EngineChoice): string {
  return choice.provider === undefined ? choice.engine : `${choice.engine} ${choice.provider}`;
}

function ok(choice: EngineChoice, detail: string, softwareAdapter?: boolean): EngineCheck {
  return { ...choice, status: "ok", detail, ...(softwareAdapter ? { softwareAdapter } : {}) };
}

/** The probes' messages start with what failed ("engine wasm: ", "onnxruntime cuda: "); the check already names it. */
function unavailable(choice: EngineChoice, reason: string): EngineCheck {
  const label = engineLabel(choice);
  const detail = reason.replace(new RegExp(`^(engine )?${label}: `), "");
  return { ...choice, status: "unavailable", detail };
}

const SOFTWARE_NOTE = "a software (CPU-emulated) adapter: used only when asked for by name, never by auto";

async function checkOrtProvider(choice: EngineChoice & { provider: OrtProvider }): Promise<EngineCheck> {
  const failure = await probeProvider(choice.provider);
  if (failure !== undefined) {
    const vulkan =
      choice.provider === "webgpu" ? `. On this machine: ${vulkanAdvice(findVulkanSetup())}` : "";
    return unavailable(choice, failure + vulkan);
  }
  if (choice.provider !== "webgpu")
    return ok(choice, `ONNX Runtime's ${choice.provider} provider runs a convolution`);
  const adapter = await dawnAdapter(importOptional).catch(() => undefined);
  const name = adapter?.name ?? "an adapter Dawn does not describe";
  return ok(choice, `runs on ${name}${adapter?.software ? `, ${SOFTWARE_NOTE}` : ""}`, adapter?.software);
}

async function checkTfjsWebGpu(choice: EngineChoice): Promise<EngineCheck> {
  try {
    const adapter = await dawnAdapter(importOptional);
    return ok(
      choice,
      `Dawn's adapter ${adapter.name}${adapter.software ? `, ${SOFTWARE_NOTE}` : ""}`,
      adapter.software,
    );
  } catch (err) {
    return unavailable(choice, `${errorText(err)}. On this machine: ${vulkanAdvice(findVulkanSetup())}`);
  }
}

async function runCheck(choice: EngineChoice): Promise<EngineCheck> {
  if (choice.engine === "onnxruntime")
    return checkOrtProvider({ ...choice, provider: choice.provider ?? "cpu" });
  try {
    switch (choice.engine) {
      case "webgpu":
        return await checkTfjsWebGpu(choice);
      case "tensorflow":
        await loadTensorflowPackage();
        return ok(choice, "libtensorflow loads (@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node)");
      case "wasm":
        await loadWasmPackage();
        if (tf.findBackendFactory("wasm") === null)
          return unavailable(choice, "the wasm backend did not register");
        return ok(choice, "@tensorflow/tfjs-backend-wasm loads (XNNPACK, SIMD; threads as configured)");
      case "cpu":
        return ok(choice, "pure JavaScript, always there: the tests' reference, far too slow to train");
    }
  } catch (err) {
    return unavailable(choice, errorText(err));
  }
}

const checks = new Map<string, Promise<EngineCheck>>();

/** Whether `choice` works here; once per process and engine (the answer does not change while it runs). */
export function checkEngine(choice: EngineChoice): Promise<EngineCheck> {
  const key = engineLabel(choice);
  let check = checks.get(key);
  if (check === undefined) {
    check = runCheck(choice);
    checks.set(key, check);
  }
  return check;
}

export interface FastestEngineOptions {
  /** Engines the caller cannot use (a model without model.onnx cannot run on onnxruntime). */
  except?: readonly ConcreteEngine[];
  /** How to check one engine; tests give their own. */
  check?: (choice: EngineChoice) => Promise<EngineCheck>;
}

/**
 * The fastest engine that works here: the first of engine auto's order
 * (AUTO_ORDER, trainer/engine/engines.ts) whose check passes, never a
 * software WebGPU adapter, as auto itself decides. Checks lazily, so it stops
 * at the first that works.
 */
export async function fastestEngine(options: FastestEngineOptions = {}): Promise<EngineChoice> {
  const check = options.check ?? checkEngine;
  const skipped: string[] = [];
  for (const candidate of AUTO_ORDER) {
    if (options.except?.includes(candidate.engine)) continue;
    const result = await check(candidate);
    if (result.status === "ok" && result.softwareAdapter !== true) return { ...candidate };
    skipped.push(`${engineLabel(candidate)}: ${result.detail}`);
  }
  throw new Error(`no compute engine works here: ${skipped.join("; ")}`);
}

/** Every check, and the fastest engine. */
export async function doctorReport(): Promise<DoctorReport> {
  const results: EngineCheck[] = [];
  // One after another: the ONNX Runtime probes and Dawn share the GPU and the log order stays fixed.
  for (const choice of CHECKED) results.push(await checkEngine(choice));
  return {
    machine: { platform: platform(), arch: arch(), node: process.versions.node },
    checks: results,
    fastest: await fastestEngine(),
  };
}
