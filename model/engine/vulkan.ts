// What this machine has of the two things Dawn (the WebGPU of the webgpu
// engine and of ONNX Runtime's WebGPU provider) needs before it can find an
// adapter: the Vulkan loader (libvulkan.so.1) and a Vulkan driver (an ICD: a
// json manifest naming a GPU driver's library, or Mesa lavapipe's). Used to
// turn "no adapter" into what to install.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The Vulkan loader's own Linux search path for driver manifests, after VK_DRIVER_FILES / VK_ICD_FILENAMES. */
export const VULKAN_ICD_DIRS: readonly string[] = [
  "/usr/local/etc/vulkan/icd.d",
  "/usr/local/share/vulkan/icd.d",
  "/etc/vulkan/icd.d",
  "/usr/share/vulkan/icd.d",
];

/** Folders the dynamic linker searches for libvulkan.so.1 on the Linux distributions we build for. */
const LIBRARY_DIRS: readonly string[] = [
  "/usr/lib/x86_64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib64",
  "/usr/lib",
  "/usr/local/lib",
];

export interface VulkanSetup {
  /** Where libvulkan.so.1 is, or undefined when no folder searched has it. */
  loader: string | undefined;
  /** The driver manifests (ICD json files) found. */
  drivers: string[];
}

interface FileSystem {
  exists(path: string): boolean;
  list(dir: string): string[];
}

const realFileSystem: FileSystem = {
  exists: existsSync,
  list: (dir) => {
    try {
      return readdirSync(dir);
    } catch {
      return [];
    }
  },
};

/** Finds the loader and driver manifests where the Vulkan loader itself would look. */
export function findVulkanSetup(env: NodeJS.ProcessEnv = process.env, fs = realFileSystem): VulkanSetup {
  const fromEnv = (env["LD_LIBRARY_PATH"] ?? "").split(":").filter((d) => d !== "");
  const loader = [...fromEnv, ...LIBRARY_DIRS]
    .map((dir) => join(dir, "libvulkan.so.1"))
    .find((path) => fs.exists(path));
  const named = (env["VK_DRIVER_FILES"] ?? env["VK_ICD_FILENAMES"] ?? "")
    .split(":")
    .filter((f) => f !== "" && fs.exists(f));
  const dataHome = env["XDG_DATA_HOME"] ?? (env["HOME"] ? join(env["HOME"], ".local/share") : undefined);
  const dirs = [...VULKAN_ICD_DIRS, ...(dataHome ? [join(dataHome, "vulkan/icd.d")] : [])];
  const found = dirs.flatMap((dir) =>
    fs
      .list(dir)
      .filter((f) => f.endsWith(".json"))
      .map((f) => join(dir, f)),
  );
  return { loader, drivers: named.length > 0 ? named : found };
}

/** How to get a Vulkan driver, for a GPU machine and for a CPU-only one. */
export const VULKAN_DRIVER_HOWTO =
  "on a GPU machine install the GPU's driver with its Vulkan ICD (NVIDIA in containers: set VK_DRIVER_FILES to its nvidia_icd.json); " +
  "on a CPU-only machine install Mesa's lavapipe ≥ 25 (Debian bookworm: add bookworm-backports to the apt sources, then " +
  "apt-get install -t bookworm-backports mesa-vulkan-drivers; bookworm's own Mesa 22.3 is refused by Dawn)";

/**
 * Why Dawn found no adapter, as far as the files tell, and what to install.
 * For a machine where Dawn just failed: with loader and driver both there,
 * the driver itself was refused.
 */
export function vulkanAdvice(setup: VulkanSetup): string {
  const missing: string[] = [];
  if (setup.loader === undefined)
    missing.push("the Vulkan loader libvulkan.so.1 is not installed (apt-get install libvulkan1)");
  if (setup.drivers.length === 0)
    missing.push(
      `no Vulkan driver is installed (no ICD json where the Vulkan loader looks, e.g. /usr/share/vulkan/icd.d): ${VULKAN_DRIVER_HOWTO}`,
    );
  if (missing.length > 0) return missing.join("; ");
  return (
    `Vulkan drivers are installed (${setup.drivers.join(", ")}) but Dawn accepted none: ` +
    "Mesa's lavapipe must be ≥ 25 (bookworm-backports), a GPU's driver must match its loaded kernel module"
  );
}
