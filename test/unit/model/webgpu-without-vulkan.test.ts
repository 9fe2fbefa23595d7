// Trying WebGPU where Vulkan is missing: "auto" and the model server's own
// auto get the reason without Dawn being loaded (whose Vulkan loader would
// write its failure to stderr in every such process); webgpu asked for by
// name still goes to Dawn.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dawnAdapter, installWebGpu, vulkanMissing } from "../../../model/engine/webgpu.js";

const noVulkan = () => ({ loader: undefined, drivers: [] });
const loaderOnly = () => ({ loader: "/usr/lib/x86_64-linux-gnu/libvulkan.so.1", drivers: [] });

/** An importer that records what was asked of it and loads nothing. */
function recordingImporter() {
  const asked: string[] = [];
  const importer = (specifier: string): Promise<unknown> => {
    asked.push(specifier);
    return Promise.reject(new Error(`${specifier} is not loaded in this test`));
  };
  return { asked, importer };
}

describe("WebGPU without Vulkan", () => {
  it("vulkanMissing names what to install, and nothing when loader and a driver are there", () => {
    assert.match(vulkanMissing(noVulkan()) ?? "", /^no WebGPU adapter: .*apt-get install libvulkan1/);
    assert.match(vulkanMissing(loaderOnly()) ?? "", /no Vulkan driver is installed/);
    assert.equal(vulkanMissing({ loader: "/x/libvulkan.so.1", drivers: ["/x/lvp_icd.json"] }), undefined);
  });

  it("dawnAdapter (auto's probe) fails with the reason without importing Dawn", async () => {
    const { asked, importer } = recordingImporter();
    await assert.rejects(dawnAdapter(importer, noVulkan), /no WebGPU adapter: .*libvulkan1/);
    assert.deepEqual(asked, []);
  });

  it("installWebGpu for auto (no software adapters) fails the same way without importing Dawn", async () => {
    const { asked, importer } = recordingImporter();
    await assert.rejects(
      installWebGpu(importer, { allowSoftware: false, vulkan: loaderOnly }),
      /no Vulkan driver is installed/,
    );
    assert.deepEqual(asked, []);
  });

  it("installWebGpu for webgpu by name still asks Dawn", async () => {
    const { asked, importer } = recordingImporter();
    await assert.rejects(
      installWebGpu(importer, { allowSoftware: true, vulkan: noVulkan }),
      /the `webgpu` package \(Dawn for Node\) could not be loaded/,
    );
    assert.deepEqual(asked, ["webgpu"]);
  });
});
