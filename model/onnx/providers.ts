// Which ONNX Runtime execution providers work on this machine, for every
// process that runs ONNX Runtime (the trainer's onnxruntime engine and the
// model server). Each is probed by creating a session for a one-conv graph
// and running it once: that is what fails when a provider's libraries,
// driver or device are missing, and the error says why in one line.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import {
  CUDA_DRIVER_LIBRARY,
  CUDA_RUNTIME_LIBRARIES,
  explainCudaFailure,
  libraryDirs,
  missingLibraries,
} from "./cuda-libraries.js";
import { GraphBuilder } from "./graph.js";
import * as ops from "./ops.js";
import { serializeModel } from "./serialize.js";

export type OrtProvider = "cpu" | "webgpu" | "cuda";

export const ORT_PROVIDERS: readonly OrtProvider[] = ["cpu", "webgpu", "cuda"];

let probeModel: Uint8Array | undefined;

function tinyConvModel(): Uint8Array {
  if (probeModel) return probeModel;
  const g = new GraphBuilder("probe");
  const x = g.input("x", [1, 2, 4, 4]);
  const w = g.initializer(
    "w",
    Float32Array.from({ length: 18 }, (_, i) => i / 18),
    [1, 2, 3, 3],
  );
  g.namedOutput(ops.unary(g, "Relu", ops.conv(g, x, w, undefined, { pads: [1, 1, 1, 1] })), "y");
  probeModel = serializeModel(g, { producer: "stylekube-probe", producerVersion: "1" });
  return probeModel;
}

/** ONNX Runtime's error in one line, and its WebGPU "no adapter" error in words that say what to install. */
function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  const noAdapter = /Failed to get a WebGPU adapter: ?(.*)/.exec(text);
  if (noAdapter !== null) {
    return (
      `Dawn found no WebGPU adapter (${noAdapter[1]?.trim() || "none"}): it needs a Vulkan driver, ` +
      "a GPU's or on a CPU machine Mesa's lavapipe ≥ 25 (mesa-vulkan-drivers), and libvulkan1"
    );
  }
  return (
    text
      .split("\n")
      .find((l) => l.trim() !== "")
      ?.trim() ?? text
  );
}

const probes = new Map<OrtProvider, Promise<string | undefined>>();

/** Where the Linux NVIDIA kernel driver says it is loaded (absent without a GPU or its driver). */
export const NVIDIA_DRIVER_FILE = "/proc/driver/nvidia/version";

/** Where ONNX Runtime looks for provider libraries: beside libonnxruntime.so.1 and the binding. */
export function ortBinaryDir(): string {
  const binding = createRequire(import.meta.url).resolve("onnxruntime-node");
  return join(dirname(binding), "..", "bin", "napi-v6", process.platform, process.arch);
}

/**
 * The CUDA provider's library is not part of the onnxruntime-node package.
 * Checked before ONNX Runtime tries to load it, which would print a red
 * error of its own on every start where it is absent. The message says what
 * to install, the NVIDIA driver first: without it the library is of no use.
 */
function missingCudaLibrary(): string | undefined {
  const dir = ortBinaryDir();
  const library = "libonnxruntime_providers_cuda.so";
  if (existsSync(join(dir, library))) return undefined;
  const driver = existsSync(NVIDIA_DRIVER_FILE)
    ? ""
    : `no NVIDIA driver is loaded on this machine (no ${NVIDIA_DRIVER_FILE}): CUDA needs an NVIDIA GPU and its driver; and `;
  return (
    `onnxruntime cuda: ${driver}${library} is not installed beside onnxruntime-node's binding (${dir}). ` +
    "The -cuda images have it (npm run images -- --gpu). Elsewhere: images/cuda-libs.sh fetches it and " +
    `libonnxruntime_providers_shared.so from the PyPI wheel onnxruntime-gpu==${ort.env.versions.node ?? ort.env.versions.common} ` +
    "(copy both from its onnxruntime/ folder into that folder) with the CUDA 13 and cuDNN 9 libraries they need " +
    "(its lib/ folder, on LD_LIBRARY_PATH; NVIDIA driver r580 or newer); or, where NuGet can be reached, " +
    "node node_modules/onnxruntime-node/script/install --onnxruntime-node-install=cuda12 installs the CUDA 12 build " +
    "(package.json's allowScripts keeps npm from running that script on install), which needs the CUDA 12 libraries instead (PyPI's nvidia-*-cu12)"
  );
}

/** ORT's error for `provider`, explained where it is a known CUDA failure. */
function failureText(provider: OrtProvider, err: unknown): string {
  const text = oneLine(err);
  if (provider !== "cuda") return text;
  const explained = explainCudaFailure(err instanceof Error ? err.message : String(err), () =>
    missingLibraries([CUDA_DRIVER_LIBRARY, ...CUDA_RUNTIME_LIBRARIES], libraryDirs()),
  );
  return explained ?? text;
}

/** Runs the one-conv graph on `provider`; throws when it cannot or gives no finite output. */
async function runProbe(provider: OrtProvider): Promise<void> {
  const session = await ort.InferenceSession.create(tinyConvModel(), { executionProviders: [provider] });
  try {
    const x = new ort.Tensor("float32", new Float32Array(32).fill(1), [1, 2, 4, 4]);
    const y = (await session.run({ x })).y?.data as Float32Array | undefined;
    // y[5] (row 1, column 1) sees the whole 3×3 window: Σ w = 17·18/2/18 = 8.5.
    if (y === undefined || !(Math.abs((y[5] ?? NaN) - 8.5) < 1e-3)) {
      throw new Error(`the probe convolution gave ${String(y?.[5])}, not 8.5`);
    }
  } finally {
    await session.release();
  }
}

/**
 * undefined when the provider runs a conv here (and gets it right); else
 * why not, in one line that starts with "onnxruntime <provider>:". Once
 * per process and provider: the answer does not change.
 */
export function probeProvider(provider: OrtProvider): Promise<string | undefined> {
  let probe = probes.get(provider);
  if (probe === undefined) {
    probe = (async () => {
      if (provider === "cuda" && process.platform === "linux") {
        const missing = missingCudaLibrary();
        if (missing !== undefined) return missing;
      }
      try {
        await runProbe(provider);
        return undefined;
      } catch (err) {
        return `onnxruntime ${provider}: ${failureText(provider, err)}`;
      }
    })();
    probes.set(provider, probe);
  }
  return probe;
}
