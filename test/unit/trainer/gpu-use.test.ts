// The worker's warning when it was given GPUs but trains on the CPU: when it
// is due, and that it carries each GPU engine's own reason.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { DoctorReport } from "../../../trainer/engine/doctor.js";
import { engineUsesGpu, gpuNotUsedMessage } from "../../../trainer/engine/gpu-use.js";

const report: DoctorReport = {
  machine: { platform: "linux", arch: "x64", node: "v24.0.0" },
  checks: [
    { engine: "onnxruntime", provider: "cpu", status: "ok", detail: "runs" },
    {
      engine: "onnxruntime",
      provider: "cuda",
      status: "unavailable",
      detail: "libcuda.so.1 (the NVIDIA driver's library) is not in this container",
    },
    { engine: "onnxruntime", provider: "webgpu", status: "unavailable", detail: "no adapter" },
    { engine: "webgpu", status: "unavailable", detail: "Dawn found no adapter" },
    { engine: "wasm", status: "unavailable", detail: "not a GPU engine, not listed" },
  ],
  fastest: { engine: "onnxruntime", provider: "cpu" },
};

describe("a worker given GPUs that trains on the CPU", () => {
  it("GPU engines: onnxruntime on cuda or webgpu, webgpu, tensorflow", () => {
    assert.equal(engineUsesGpu({ engine: "onnxruntime", provider: "cuda" }), true);
    assert.equal(engineUsesGpu({ engine: "onnxruntime", provider: "webgpu" }), true);
    assert.equal(engineUsesGpu({ engine: "onnxruntime", provider: "cpu" }), false);
    assert.equal(engineUsesGpu({ engine: "webgpu" }), true);
    assert.equal(engineUsesGpu({ engine: "tensorflow" }), true);
    assert.equal(engineUsesGpu({ engine: "wasm" }), false);
    assert.equal(engineUsesGpu({ engine: "cpu" }), false);
  });

  it("says so with every GPU engine's reason", () => {
    const message = gpuNotUsedMessage(2, { engine: "onnxruntime", provider: "cpu" }, report);
    assert.ok(message !== undefined);
    assert.match(
      message,
      /given 2 GPU\(s\) \(spec\.resources\.gpu\) but trains on the CPU with onnxruntime cpu/,
    );
    assert.match(
      message,
      /onnxruntime cuda: libcuda\.so\.1 \(the NVIDIA driver's library\) is not in this container/,
    );
    assert.match(message, /onnxruntime webgpu: no adapter/);
    assert.match(message, /webgpu: Dawn found no adapter/);
    assert.doesNotMatch(message, /wasm: not a GPU engine/);
    assert.match(message, /npm run images -- --gpu/);
  });

  it("is silent without GPUs or when a GPU engine runs", () => {
    assert.equal(gpuNotUsedMessage(0, { engine: "wasm" }, report), undefined);
    assert.equal(gpuNotUsedMessage(1, { engine: "onnxruntime", provider: "cuda" }, report), undefined);
    assert.equal(gpuNotUsedMessage(1, { engine: "webgpu" }, report), undefined);
  });
});
