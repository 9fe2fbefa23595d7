/**
 * WebGPU for Node: the `webgpu` npm package (Dawn, prebuilt `dawn.node`
 * binaries for linux/darwin/win32 inside the package; its postinstall only
 * clears a macOS quarantine attribute, nothing is downloaded) under
 * @tensorflow/tfjs-backend-webgpu.
 *
 * Order matters (docs/architecture.md, compute engines): navigator.gpu and Dawn's
 * WebGPU globals (GPUBufferUsage, …) must exist before the backend module is
 * imported, because it reads them at import and at backend creation. The
 * adapter is requested here first so that a machine without a usable GPU
 * fails with a message that says why, instead of tfjs's "Cannot read
 * properties of null" from inside the backend factory.
 */
import { findVulkanSetup, vulkanAdvice, type VulkanSetup } from "./vulkan.js";

interface WebGpuPackage {
  create(flags: string[]): { requestAdapter(options?: object): Promise<GpuAdapterLike | null> };
  globals: Record<string, unknown>;
}

/** What Dawn tells about an adapter (GPUAdapterInfo; isFallbackAdapter on newer Dawn). */
export interface GpuAdapterDescription {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  isFallbackAdapter?: boolean;
}

interface GpuAdapterLike {
  info?: GpuAdapterDescription;
  isFallbackAdapter?: boolean;
}

type Importer = (specifier: string) => Promise<unknown>;

/**
 * CPU-emulated Vulkan/WebGPU implementations: Mesa's lavapipe (reports
 * "llvmpipe"), Google's SwiftShader, and whatever the adapter itself flags as
 * a fallback. They run WebGPU correctly but far slower than the CPU engines,
 * so "auto" must never pick them.
 */
const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|softpipe|software rasteri[sz]er/i;

/** The adapter's name for messages and a verdict on whether it emulates a GPU on the CPU. */
export function describeAdapter(info: GpuAdapterDescription): { name: string; software: boolean } {
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (p): p is string => typeof p === "string" && p.length > 0,
  );
  const name = parts.length > 0 ? parts.join(" / ") : "unnamed adapter";
  return { name, software: info.isFallbackAdapter === true || SOFTWARE_ADAPTER.test(name) };
}

/**
 * What the adapter tells about itself. Dawn's GPUAdapterInfo holds its fields
 * as getters on the prototype, so they are read one by one: spreading the
 * object copies nothing, and every adapter (lavapipe included) then looked
 * like an unnamed hardware one. isFallbackAdapter is on the info in current
 * WebGPU, on the adapter in older Dawn.
 */
export function adapterDescription(adapter: GpuAdapterLike): GpuAdapterDescription {
  const info = adapter.info;
  const description: GpuAdapterDescription = {};
  for (const key of ["vendor", "architecture", "device", "description"] as const) {
    const value = info?.[key];
    if (typeof value === "string") description[key] = value;
  }
  if (info?.isFallbackAdapter === true || adapter.isFallbackAdapter === true)
    description.isFallbackAdapter = true;
  return description;
}

/**
 * Why there is no point asking Dawn, or undefined when Vulkan's loader and a
 * driver are both installed. Without them Dawn can only fail, and the
 * Vulkan loader writes its failure to stderr ("vkCreateInstance: Found no
 * drivers!") in every process that asks, so the engine choices that merely
 * try WebGPU ("auto", the model server's provider list) check this first and
 * stay quiet on a machine without a GPU. webgpu asked for by name still asks
 * Dawn, whose messages then help.
 */
export function vulkanMissing(setup: VulkanSetup = findVulkanSetup()): string | undefined {
  if (setup.loader !== undefined && setup.drivers.length > 0) return undefined;
  return `no WebGPU adapter: ${vulkanAdvice(setup)}`;
}

let installed: Promise<{ name: string; software: boolean }> | undefined;
let probed: Promise<{ name: string; software: boolean }> | undefined;

/**
 * The adapter Dawn would give (without installing anything globally): for
 * engines that bring their own WebGPU (ONNX Runtime's WebGPU provider) and
 * must not pick a software adapter under "auto". Throws when there is none,
 * without loading Dawn when Vulkan is missing (vulkanMissing).
 */
export async function dawnAdapter(
  importOptional: Importer,
  vulkan: () => VulkanSetup = findVulkanSetup,
): Promise<{ name: string; software: boolean }> {
  const missing = vulkanMissing(vulkan());
  if (missing !== undefined) throw new Error(missing);
  probed ??= (async () => {
    const pkg = (await importOptional("webgpu")) as WebGpuPackage;
    const adapter = await pkg.create([]).requestAdapter();
    if (adapter === null) throw new Error("no WebGPU adapter found (Dawn found no Vulkan device)");
    return describeAdapter(adapterDescription(adapter));
  })();
  return probed;
}

async function install(importOptional: Importer): Promise<{ name: string; software: boolean }> {
  let pkg: WebGpuPackage;
  try {
    pkg = (await importOptional("webgpu")) as WebGpuPackage;
  } catch (err) {
    throw new Error(
      `the \`webgpu\` package (Dawn for Node) could not be loaded (${err instanceof Error ? err.message : String(err)}); install it with npm install webgpu @tensorflow/tfjs-backend-webgpu`,
      { cause: err },
    );
  }
  const gpu = pkg.create([]);
  const adapter = await gpu.requestAdapter();
  if (adapter === null) {
    throw new Error(
      "no WebGPU adapter found: Dawn found no usable GPU through Vulkan. The machine needs a GPU, its driver, " +
        "libvulkan1 (libvulkan.so.1) and, for NVIDIA in containers, VK_DRIVER_FILES (or VK_ICD_FILENAMES) pointing at the driver's ICD json " +
        "(e.g. /usr/share/vulkan/icd.d/nvidia_icd.json). Use engine wasm or cpu on machines without one.",
    );
  }
  const adapterInfo = describeAdapter(adapterDescription(adapter));
  Object.assign(globalThis, pkg.globals);
  const g = globalThis as { navigator?: object };
  if (g.navigator === undefined) {
    Object.defineProperty(globalThis, "navigator", { value: { gpu }, configurable: true, writable: true });
  } else {
    Object.defineProperty(g.navigator, "gpu", { value: gpu, configurable: true });
  }
  try {
    await importOptional("@tensorflow/tfjs-backend-webgpu");
  } catch (err) {
    throw new Error(
      `@tensorflow/tfjs-backend-webgpu could not be loaded (${err instanceof Error ? err.message : String(err)}); install it with npm install @tensorflow/tfjs-backend-webgpu`,
      { cause: err },
    );
  }
  return adapterInfo;
}

export interface InstallWebGpuOptions {
  /**
   * Accept a CPU-emulated adapter (lavapipe, SwiftShader). True when webgpu
   * is asked for by name; false for "auto", which must not trade a CPU
   * engine for a GPU emulated on the same CPU.
   */
  allowSoftware: boolean;
  /** Where to look for Vulkan (tests); default: where the Vulkan loader looks. */
  vulkan?: () => VulkanSetup;
}

/**
 * Makes the tfjs "webgpu" backend available (once per process; a failure is
 * remembered, since Dawn's answer will not change) and returns the
 * adapter's name. Throws an Error whose message says what is missing, or
 * that the only adapter is a software one when that is not allowed.
 */
export async function installWebGpu(
  importOptional: Importer,
  options: InstallWebGpuOptions = { allowSoftware: true },
): Promise<{ name: string; software: boolean }> {
  // Not asked for by name: do not wake Dawn (and the Vulkan loader's stderr) for nothing.
  if (!options.allowSoftware && installed === undefined) {
    const missing = vulkanMissing((options.vulkan ?? findVulkanSetup)());
    if (missing !== undefined) throw new Error(missing);
  }
  installed ??= install(importOptional);
  const adapter = await installed;
  if (adapter.software && !options.allowSoftware) {
    throw new Error(
      `the only WebGPU adapter is a software (CPU-emulated) one (${adapter.name}); auto never picks it. Ask for engine webgpu by name to use it anyway.`,
    );
  }
  return adapter;
}
