import * as tf from "@tensorflow/tfjs-core";
import { gemmConv2DBackpropFilter } from "./gemm-backprop-filter.js";

/**
 * The webgpu backend's training kernels (tfjs-backend-webgpu 4.22).
 *
 * Its convolution gradients are its naive programs by default: one GPU
 * thread per output element looping over the whole reduction, with no
 * tiling. "fast" (the default) replaces them with the backend's own tiled
 * matrix programs:
 * - Conv2DBackpropFilter → im2col blocks × dy through its BatchMatMul
 *   (gemm-backprop-filter.ts);
 * - Conv2DBackpropInput → its Conv2DDerInputMMProgram (an implicit GEMM the
 *   backend ships but leaves off behind WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE).
 * "stock" restores tfjs's choices, for benchmarks that compare the two
 * (STYLEKUBE_WEBGPU_KERNELS=stock).
 */
export type WebGpuKernels = "fast" | "stock";

let stockBackpropFilter: tf.KernelConfig | undefined;
let fastBackpropFilter: tf.KernelConfig | undefined;

export function webGpuKernelsFromEnv(): WebGpuKernels {
  return process.env.STYLEKUBE_WEBGPU_KERNELS === "stock" ? "stock" : "fast";
}

/** Selects the webgpu training kernels; call after the backend module is imported (idempotent). */
export function useWebGpuKernels(kind: WebGpuKernels): void {
  const current = tf.getKernel("Conv2DBackpropFilter", "webgpu");
  if (current === undefined) throw new Error("the webgpu backend is not loaded");
  if (stockBackpropFilter === undefined) {
    stockBackpropFilter = current;
    fastBackpropFilter = {
      kernelName: "Conv2DBackpropFilter",
      backendName: "webgpu",
      kernelFunc: gemmConv2DBackpropFilter({ backendName: "webgpu", fallback: current.kernelFunc }),
    };
  }
  const wanted = kind === "fast" ? fastBackpropFilter : stockBackpropFilter;
  if (wanted !== undefined && current.kernelFunc !== wanted.kernelFunc) {
    tf.unregisterKernel("Conv2DBackpropFilter", "webgpu");
    tf.registerKernel(wanted);
  }
  tf.env().set("WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE", kind === "stock");
  // How many dispatches the backend records before submitting them to the
  // GPU queue (tfjs default 15). Buffers freed in between are reused only
  // after a submit, so larger batches trade memory for fewer submits.
  const batch = Number(process.env.STYLEKUBE_WEBGPU_SUBMIT_BATCH ?? "");
  if (Number.isInteger(batch) && batch > 0) tf.env().set("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE", batch);
}
