// What the operator puts into a pod that asks for GPUs: the CUDA image
// variant for NVIDIA GPUs (unless the spec names its own image), a
// toleration of the GPU taint, the NVIDIA runtime class where configured,
// and never NVIDIA_VISIBLE_DEVICES (the device plugin's to set).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type * as k8s from "@kubernetes/client-node";
import {
  API_VERSION,
  type StyleServerInput,
  validateStyleServer,
  validateStyleTraining,
} from "../../../common/api/index.js";
import { readControllerConfig } from "../../../controller/config.js";
import { buildDeployment } from "../../../controller/serving/server-resources.js";
import { buildWorkerPod } from "../../../controller/training/worker-pods.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";

const config = readControllerConfig({
  STYLEKUBE_TRAINER_IMAGE: "reg.example/stylekube/trainer:1.2.3",
  STYLEKUBE_TRAINER_CUDA_IMAGE: "reg.example/stylekube/trainer:1.2.3-cuda",
  STYLEKUBE_SERVER_IMAGE: "reg.example/stylekube/server:1.2.3",
  STYLEKUBE_SERVER_CUDA_IMAGE: "reg.example/stylekube/server:1.2.3-cuda",
});

function workerPod(resources: Record<string, unknown>, image?: string, cfg = config): k8s.V1PodSpec {
  const obj = minimalStyleTraining("mosaic");
  obj.metadata = { name: "mosaic", namespace: "team-a", uid: "1234-uid" };
  obj.spec.resources = resources as typeof obj.spec.resources;
  if (image !== undefined) obj.spec.image = image;
  const r = validateStyleTraining(obj);
  assert.ok(r.ok, JSON.stringify(r));
  return buildWorkerPod(r.value, 1, 0, cfg).spec!;
}

function serverPod(spec: Partial<StyleServerInput["spec"]>, cfg = config): k8s.V1PodSpec {
  const r = validateStyleServer({
    apiVersion: API_VERSION,
    kind: "StyleServer",
    metadata: { name: "api", namespace: "ns", uid: "uid-api", generation: 1 },
    spec: { replicas: 1, styles: {}, ...spec },
  });
  assert.ok(r.ok, JSON.stringify(r));
  return buildDeployment(r.value, cfg).spec!.template.spec!;
}

const envNames = (pod: k8s.V1PodSpec) => (pod.containers[0]!.env ?? []).map((e) => e.name);

describe("GPU pods", () => {
  it("a training's default (one nvidia.com/gpu) runs the trainer's CUDA image and tolerates the GPU taint", () => {
    const pod = workerPod({});
    assert.equal(pod.containers[0]!.image, "reg.example/stylekube/trainer:1.2.3-cuda");
    assert.equal(pod.containers[0]!.resources!.limits!["nvidia.com/gpu"], "1");
    assert.deepEqual(pod.tolerations, [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    assert.equal(pod.runtimeClassName, undefined, "no runtime class unless configured");
    assert.ok(!envNames(pod).includes("NVIDIA_VISIBLE_DEVICES"), "the device plugin sets it");
  });

  it("a CPU training (gpu: 0) runs the plain trainer image, with no GPU request or toleration", () => {
    const pod = workerPod({ gpu: 0, cpu: "2", memory: "4Gi" });
    assert.equal(pod.containers[0]!.image, "reg.example/stylekube/trainer:1.2.3");
    assert.equal(pod.containers[0]!.resources!.limits!["nvidia.com/gpu"], undefined);
    assert.equal(pod.tolerations, undefined);
  });

  it("MIG slices are NVIDIA GPUs too; other vendors' GPUs get the plain image and their own toleration", () => {
    assert.equal(
      workerPod({ gpu: 1, gpuResourceName: "nvidia.com/mig-1g.10gb" }).containers[0]!.image,
      "reg.example/stylekube/trainer:1.2.3-cuda",
    );
    const amd = workerPod({ gpu: 2, gpuResourceName: "amd.com/gpu" });
    assert.equal(amd.containers[0]!.image, "reg.example/stylekube/trainer:1.2.3");
    assert.deepEqual(amd.tolerations, [{ key: "amd.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
  });

  it("spec.image wins over both defaults", () => {
    const pod = workerPod({ gpu: 1 }, "mine/trainer:custom");
    assert.equal(pod.containers[0]!.image, "mine/trainer:custom");
  });

  it("STYLEKUBE_GPU_RUNTIME_CLASS names the runtime class of NVIDIA GPU pods only", () => {
    const cfg = readControllerConfig({ STYLEKUBE_GPU_RUNTIME_CLASS: "nvidia" });
    assert.equal(workerPod({ gpu: 1 }, undefined, cfg).runtimeClassName, "nvidia");
    assert.equal(workerPod({ gpu: 0 }, undefined, cfg).runtimeClassName, undefined);
    assert.equal(serverPod({ resources: { gpu: 1 } }, cfg).runtimeClassName, "nvidia");
    assert.equal(serverPod({}, cfg).runtimeClassName, undefined);
  });

  it("a StyleServer with GPUs runs the server's CUDA image and tolerates the taint; without, neither", () => {
    const gpu = serverPod({ resources: { gpu: 1 } });
    assert.equal(gpu.containers[0]!.image, "reg.example/stylekube/server:1.2.3-cuda");
    assert.equal(gpu.containers[0]!.resources!.limits!["nvidia.com/gpu"], "1");
    assert.deepEqual(gpu.tolerations, [{ key: "nvidia.com/gpu", operator: "Exists", effect: "NoSchedule" }]);
    assert.ok(!envNames(gpu).includes("NVIDIA_VISIBLE_DEVICES"));
    const cpu = serverPod({});
    assert.equal(cpu.containers[0]!.image, "reg.example/stylekube/server:1.2.3");
    assert.equal(cpu.tolerations, undefined);
    assert.equal("runtimeClassName" in cpu, false);
  });

  it("the CUDA images default to the plain ones' tags with -cuda", () => {
    const defaults = readControllerConfig({});
    assert.equal(defaults.STYLEKUBE_TRAINER_CUDA_IMAGE, `${defaults.STYLEKUBE_TRAINER_IMAGE}-cuda`);
    assert.equal(defaults.STYLEKUBE_SERVER_CUDA_IMAGE, `${defaults.STYLEKUBE_SERVER_IMAGE}-cuda`);
  });
});
