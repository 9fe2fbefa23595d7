// Plays the kubelet for a worker pod in the test environment (kwok only
// makes pods Running): mark it Succeeded or Failed with an exit code (and
// the termination message a worker leaves).
import * as k8s from "@kubernetes/client-node";

export function setWorkerPodPhase(
  core: k8s.CoreV1Api,
  pod: k8s.V1Pod,
  phase: "Failed" | "Succeeded",
  exitCode: number,
  /** What the worker wrote to its termination message file. */
  message?: string,
): Promise<k8s.V1Pod> {
  return core.patchNamespacedPodStatus(
    {
      name: pod.metadata!.name!,
      namespace: pod.metadata!.namespace!,
      body: {
        status: {
          phase,
          containerStatuses: [
            {
              name: "worker",
              image: pod.spec!.containers[0]!.image!,
              imageID: "",
              ready: false,
              restartCount: 0,
              state: {
                terminated: {
                  exitCode,
                  reason: exitCode === 0 ? "Completed" : "Error",
                  ...(message !== undefined ? { message } : {}),
                },
              },
            },
          ],
        },
      },
    },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
}
