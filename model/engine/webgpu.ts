/**
 * WebGPU for Node: the `webgpu` npm package (Dawn, prebuilt `dawn.node`
 * binaries for linux/darwin/win32 inside the package; its postinstall only
 * clears a macOS quarantine attribute, nothing is downloaded) under
 * @tensorflow/tfjs-backend-webgpu.
 *
 * Order matters (DESIGN.md, "Compute engines"): navigator.gpu and Dawn's
 * WebGPU globals (GPUBufferUsage, …) must exist before the backend module is
 * imported, because it reads them at import and at backend creation. The
 * adapter is requested here first so that a machine without a usable GPU
 * fails with a message that says why, instead of tfjs's "Cannot read
 * properties of null" from inside the backend factory.
 */

interface WebGpuPackage {
  create(flags: string[]): { requestAdapter(options?: object): Promise<object | null> };
  globals: Record<string, unknown>;
}

type Importer = (specifier: string) => Promise<unknown>;

let installed: Promise<void> | undefined;

async function install(importOptional: Importer): Promise<void> {
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
}

/**
 * Makes the tfjs "webgpu" backend available (once per process; a failure is
 * remembered, since Dawn's answer will not change). Throws an Error whose
 * message says what is missing.
 */
export function installWebGpu(importOptional: Importer): Promise<void> {
  installed ??= install(importOptional);
  return installed;
}
