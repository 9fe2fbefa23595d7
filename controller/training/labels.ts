// Labels and the owner reference on everything a StyleTraining owns;
// selectors are built from these.
import type * as k8s from "@kubernetes/client-node";
import { API_VERSION } from "../../common/api/index.js";

export const LABELS = {
  training: "stylekube.io/training",
  attempt: "stylekube.io/attempt",
  rank: "stylekube.io/rank",
  component: "app.kubernetes.io/component",
  name: "app.kubernetes.io/name",
  managedBy: "app.kubernetes.io/managed-by",
} as const;

/**
 * On every worker pod, like a Job's tracking finalizer: a pod that fails, is
 * deleted or evicted cannot disappear before the operator has recorded its
 * outcome in the training's status; the operator removes it right after.
 */
export const WORKER_FINALIZER = "stylekube.io/worker-tracking";

export const WORKER_SELECTOR = `${LABELS.component}=trainer,${LABELS.managedBy}=stylekube`;

export function workerPodName(training: string, attempt: number, rank: number): string {
  // Deterministic names make creation idempotent: a repeated create after a
  // lost response or a stale cache gets 409 instead of a duplicate worker.
  return `${training.slice(0, 40)}-a${attempt}-w${rank}`;
}

/** Makes the StyleTraining the controlling owner: deleting it deletes what it owns (garbage collection). */
export function trainingOwnerReference(name: string, uid: string): k8s.V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: "StyleTraining",
    name,
    uid,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/**
 * Whether `pod` is a worker of this StyleTraining object: labelled with its
 * name and owned by its uid. The label alone also matches the pods of an
 * earlier object of the same name that is being deleted.
 */
export function isWorkerOf(
  pod: k8s.V1Pod,
  training: { metadata: { namespace?: string; name?: string; uid?: string } },
): boolean {
  const { namespace, name, uid } = training.metadata;
  return (
    pod.metadata?.namespace === namespace &&
    pod.metadata?.labels?.[LABELS.training] === name &&
    uid !== undefined &&
    (pod.metadata?.ownerReferences ?? []).some((o) => o.uid === uid)
  );
}
