// What the training policies need to know about one worker pod, read once
// from the Pod object: its attempt and rank, how far it got, whether it is
// being deleted, whether it still holds our tracking finalizer, and why it
// stopped. Policies work on these summaries, never on raw Pods.
import type * as k8s from "@kubernetes/client-node";
import { WORKER_ENV } from "../../common/worker-env.js";
import { LABELS, WORKER_FINALIZER } from "../../common/api/owned-objects.js";

export type WorkerPodState = "pending" | "running" | "ready" | "succeeded" | "failed";

export interface WorkerPod {
  name: string;
  attempt: number;
  rank: number;
  /** STYLEKUBE_WORLD_SIZE the pod was started with; undefined when absent. */
  worldSize: number | undefined;
  state: WorkerPodState;
  /** Has a deletionTimestamp: someone (a user, an eviction, the operator) is removing it. */
  deleting: boolean;
  /** Still holds the tracking finalizer, so it cannot vanish before its outcome is recorded. */
  tracked: boolean;
  /** Why it stopped or is going away, for messages. */
  why: string;
  /** The worker container's exit code, once it has terminated. */
  exitCode?: number;
  /** What the worker wrote to its termination message file (common/worker-exit.ts), if anything. */
  terminationMessage?: string;
}

export function isTerminal(p: WorkerPod): boolean {
  return p.state === "succeeded" || p.state === "failed";
}

function podState(pod: k8s.V1Pod): WorkerPodState {
  switch (pod.status?.phase) {
    case "Succeeded":
      return "succeeded";
    case "Failed":
      return "failed";
    case "Running": {
      const ready = pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      return ready ? "ready" : "running";
    }
    default:
      return "pending";
  }
}

function terminated(pod: k8s.V1Pod): k8s.V1ContainerStateTerminated | undefined {
  return pod.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
}

function failureReason(pod: k8s.V1Pod): string {
  const term = terminated(pod);
  const parts = [
    pod.status?.reason,
    term?.reason,
    term?.exitCode !== undefined ? `exit code ${term.exitCode}` : undefined,
  ];
  const why = parts.filter(Boolean).join(", ");
  return why || pod.status?.message || "failed";
}

/** Why a pod is being deleted: the DisruptionTarget condition an eviction or preemption sets, if any. */
function deletionReason(pod: k8s.V1Pod): string {
  const disruption = pod.status?.conditions?.find(
    (c) => c.type === "DisruptionTarget" && c.status === "True",
  );
  return disruption?.reason ? ` (${disruption.reason})` : "";
}

function termination(pod: k8s.V1Pod): Pick<WorkerPod, "exitCode" | "terminationMessage"> {
  const term = terminated(pod);
  const message = term?.message?.trim();
  return {
    ...(term?.exitCode !== undefined ? { exitCode: term.exitCode } : {}),
    ...(message ? { terminationMessage: message } : {}),
  };
}

export function describeWorkerPod(pod: k8s.V1Pod): WorkerPod {
  const labels = pod.metadata?.labels ?? {};
  const env = pod.spec?.containers?.[0]?.env?.find((e) => e.name === WORKER_ENV.worldSize)?.value;
  const state = podState(pod);
  const deleting = pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
  return {
    name: pod.metadata?.name ?? "",
    attempt: Number(labels[LABELS.attempt]),
    rank: Number(labels[LABELS.rank]),
    worldSize: env !== undefined ? Number(env) : undefined,
    state,
    deleting,
    tracked: pod.metadata?.finalizers?.includes(WORKER_FINALIZER) ?? false,
    why: state === "failed" ? failureReason(pod) : deleting ? `was deleted${deletionReason(pod)}` : "",
    ...termination(pod),
  };
}
