// What a pod that asks for GPUs needs beyond its resource request, for both
// the training workers and the model servers: the CUDA image variant where
// the GPUs are NVIDIA's, a toleration of the GPU nodes' taint, and the
// cluster's NVIDIA runtime class where it has one.
//
// NVIDIA_VISIBLE_DEVICES is deliberately not set: the NVIDIA device plugin
// sets it to the GPUs it allocated to the container; a value here (such as
// "all") would show the container every GPU on the node.
import type * as k8s from "@kubernetes/client-node";

export interface GpuResources {
  gpu: number;
  gpuResourceName: string;
}

/** NVIDIA GPUs (nvidia.com/gpu, or a MIG slice such as nvidia.com/mig-1g.10gb): CUDA runs there. */
export function wantsNvidiaGpu(res: GpuResources): boolean {
  return res.gpu > 0 && res.gpuResourceName.startsWith("nvidia.com/");
}

/** The image of a pod: the spec's own, else the CUDA variant for NVIDIA GPUs, else the plain one. */
export function podImage(
  res: GpuResources,
  specImage: string | undefined,
  images: { plain: string; cuda: string },
): string {
  return specImage ?? (wantsNvidiaGpu(res) ? images.cuda : images.plain);
}

/** GPU nodes are commonly tainted with the GPU's resource name (NoSchedule); tolerate it. */
export function gpuTolerations(res: GpuResources): k8s.V1Toleration[] {
  return res.gpu > 0 ? [{ key: res.gpuResourceName, operator: "Exists", effect: "NoSchedule" }] : [];
}

/** The runtime class for NVIDIA GPU pods (STYLEKUBE_GPU_RUNTIME_CLASS; empty where the node's default runtime is NVIDIA's). */
export function gpuRuntimeClass(res: GpuResources, runtimeClass: string | undefined): string | undefined {
  return wantsNvidiaGpu(res) && runtimeClass ? runtimeClass : undefined;
}

/** The tolerations and runtime class of a GPU pod, only the fields that apply (none without GPUs). */
export function gpuPodFields(
  res: GpuResources,
  runtimeClass: string | undefined,
): Pick<k8s.V1PodSpec, "tolerations" | "runtimeClassName"> {
  const tolerations = gpuTolerations(res);
  const runtimeClassName = gpuRuntimeClass(res, runtimeClass);
  return {
    ...(tolerations.length > 0 ? { tolerations } : {}),
    ...(runtimeClassName !== undefined ? { runtimeClassName } : {}),
  };
}
