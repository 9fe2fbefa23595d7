// ORT's CUDA failures in words: which library is missing, or what the CUDA
// error number means for the node.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  CUDA_DRIVER_LIBRARY,
  CUDA_RUNTIME_LIBRARIES,
  explainCudaFailure,
  libraryDirs,
  missingLibraries,
} from "../../../model/onnx/cuda-libraries.js";

const LOAD_FAILED = "OrtSessionOptionsAppendExecutionProvider_Cuda: Failed to load shared library";

describe("explaining ONNX Runtime's CUDA failures", () => {
  it("searches LD_LIBRARY_PATH first, then the system's folders", () => {
    const dirs = libraryDirs({ LD_LIBRARY_PATH: "/opt/a::/opt/b" });
    assert.deepEqual(dirs.slice(0, 2), ["/opt/a", "/opt/b"]);
    assert.ok(dirs.includes("/usr/lib/x86_64-linux-gnu"));
  });

  it("finds a library in any of the folders", () => {
    const present = new Set(["/opt/cuda/lib/libcudart.so.13", "/usr/lib/libcuda.so.1"]);
    const missing = missingLibraries(
      ["libcudart.so.13", "libcuda.so.1", "libcudnn.so.9"],
      ["/opt/cuda/lib", "/usr/lib"],
      (p) => present.has(p),
    );
    assert.deepEqual(missing, ["libcudnn.so.9"]);
  });

  it("a provider that did not load: the driver's library and the CUDA libraries, each with its fix", () => {
    const both = explainCudaFailure(LOAD_FAILED, () => [CUDA_DRIVER_LIBRARY, "libcudnn.so.9"]);
    assert.match(both ?? "", /libcuda\.so\.1 \(the NVIDIA driver's library\) is not in this container/);
    assert.match(both ?? "", /the CUDA 13 libraries libcudnn\.so\.9 are not on LD_LIBRARY_PATH/);
    assert.doesNotMatch(both ?? "", /; $/);
    const driverOnly = explainCudaFailure(LOAD_FAILED, () => [CUDA_DRIVER_LIBRARY]);
    assert.doesNotMatch(driverOnly ?? "", /CUDA 13 libraries/);
    const none = explainCudaFailure(LOAD_FAILED, () => []);
    assert.match(none ?? "", /a library it links is missing \(ORT printed which above\)$/);
  });

  it("CUDA errors 35 and 100 say what the node lacks; others keep their number and text", () => {
    const err = (code: number, text: string) =>
      `... CUDA failure ${code}: ${text} ; GPU=-1 ; hostname=vm ; expr=cudaSetDevice(info_.device_id);`;
    assert.match(
      explainCudaFailure(err(35, "CUDA driver version is insufficient for CUDA runtime version"), () => []) ??
        "",
      /^CUDA error 35 \(CUDA driver version is insufficient for CUDA runtime version\): .*driver r580 or newer/,
    );
    assert.match(
      explainCudaFailure(err(100, "no CUDA-capable device is detected"), () => []) ?? "",
      /^CUDA error 100 \(no CUDA-capable device is detected\): no GPU is visible.*spec\.resources\.gpu/,
    );
    assert.equal(
      explainCudaFailure(err(2, "out of memory"), () => []),
      "CUDA error 2 (out of memory)",
    );
    assert.equal(
      explainCudaFailure("some other error", () => []),
      undefined,
    );
  });

  it("checks the libraries ORT links and those it opens itself", () => {
    for (const l of ["libcudart.so.13", "libcublasLt.so.13", "libcudnn.so.9", "libcufft.so.12"])
      assert.ok((CUDA_RUNTIME_LIBRARIES as readonly string[]).includes(l), l);
  });
});
