// The ONNX Runtime execution providers the onnxruntime engine's correctness
// suites run on: the CPU provider everywhere, the WebGPU provider where
// ONNX Runtime's Dawn finds a Vulkan device (a GPU, or Mesa's lavapipe on a
// CPU machine, which CI installs), and the CUDA provider on an NVIDIA GPU
// with its libraries (bench/gpu/cuda.sh); where one cannot start, its suites
// are skipped with the probe's one-line reason.
import { probeProvider, type OrtProvider } from "../../model/onnx/providers.js";

export interface OrtTestProvider {
  provider: OrtProvider;
  /** Why the provider cannot run here (node:test's skip reason); undefined when it can. */
  skip: string | undefined;
}

export async function ortTestProviders(): Promise<OrtTestProvider[]> {
  return [
    // The CPU provider runs everywhere: a failure to start is a failure, not a skip.
    { provider: "cpu", skip: undefined },
    { provider: "webgpu", skip: await probeProvider("webgpu") },
    { provider: "cuda", skip: await probeProvider("cuda") },
  ];
}
