// Why ONNX Runtime's CUDA provider could not start, in words that say what
// to do. ORT's own error for a provider library that does not load is only
// "Failed to load shared library" (the dynamic loader's reason goes to
// stderr), and its CUDA errors are numbers; this names the missing library
// or the driver problem instead.
import { existsSync } from "node:fs";
import { join } from "node:path";

/**
 * The CUDA provider of onnxruntime-gpu 1.30 (CUDA 13.0): the libraries it
 * links (ldd) and those it opens itself when first needed (cuDNN, cuFFT).
 * images/cuda-libs.sh puts them in one folder; the CUDA images put that
 * folder on LD_LIBRARY_PATH.
 */
export const CUDA_RUNTIME_LIBRARIES = [
  "libcudart.so.13",
  "libcublas.so.13",
  "libcublasLt.so.13",
  "libcurand.so.10",
  "libcufft.so.12",
  "libcudnn.so.9",
] as const;

/** The NVIDIA driver's own library: on a GPU node the NVIDIA container runtime mounts the node's into the container. */
export const CUDA_DRIVER_LIBRARY = "libcuda.so.1";

/** Where the dynamic loader looks besides LD_LIBRARY_PATH (Debian's multiarch folders, the usual driver mounts). */
const SYSTEM_LIBRARY_DIRS = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/nvidia/lib64",
  "/usr/local/cuda/lib64",
  "/usr/lib/wsl/lib",
];

/** The folders searched for `name`: LD_LIBRARY_PATH's, then the system's. */
export function libraryDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  const fromEnv = (env.LD_LIBRARY_PATH ?? "").split(":").filter((d) => d !== "");
  return [...fromEnv, ...SYSTEM_LIBRARY_DIRS];
}

/** The libraries of `names` found in none of `dirs`. */
export function missingLibraries(
  names: readonly string[],
  dirs: readonly string[],
  exists: (path: string) => boolean = existsSync,
): string[] {
  return names.filter((name) => !dirs.some((dir) => exists(join(dir, name))));
}

/**
 * ORT's CUDA error in words, or undefined for one this does not know. `message`
 * is ORT's error; `missing` what missingLibraries found absent (checked only
 * when the provider library did not load).
 */
export function explainCudaFailure(message: string, missing: () => string[]): string | undefined {
  if (/Failed to load shared library/.test(message)) {
    const absent = missing();
    const driver = absent.includes(CUDA_DRIVER_LIBRARY)
      ? `${CUDA_DRIVER_LIBRARY} (the NVIDIA driver's library) is not in this container: on a GPU node the NVIDIA ` +
        "container runtime mounts it into pods that request nvidia.com/gpu (or run with its runtime class); "
      : "";
    const runtime = absent.filter((l) => l !== CUDA_DRIVER_LIBRARY);
    const libraries =
      runtime.length > 0
        ? `the CUDA 13 libraries ${runtime.join(", ")} are not on LD_LIBRARY_PATH: run the -cuda image ` +
          "(npm run images -- --gpu), or set LD_LIBRARY_PATH to the lib/ folder images/cuda-libs.sh prints; "
        : "";
    const rest = driver + libraries || "a library it links is missing (ORT printed which above); ";
    return `the CUDA provider library did not load: ${rest}`.replace(/; $/, "");
  }
  const cuda = /CUDA failure (\d+): ([^;]*)/.exec(message);
  if (cuda === null) return undefined;
  const [, code, text] = cuda;
  switch (code) {
    case "35":
      return (
        `CUDA error 35 (${text?.trim()}): the NVIDIA driver is older than CUDA 13.0 needs ` +
        "(driver r580 or newer; onnxruntime-gpu of this version is built for CUDA 13)"
      );
    case "100":
      return (
        `CUDA error 100 (${text?.trim()}): no GPU is visible to this process; a pod needs a GPU ` +
        "resource (spec.resources.gpu) for the device plugin to hand it one"
      );
    default:
      return `CUDA error ${code} (${text?.trim()})`;
  }
}
