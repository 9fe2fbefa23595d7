// What a StyleTraining owns: the owner reference on its worker pods and
// Secrets, and the one test of whether a pod is one of its workers (the
// reconciler and the dashboard both ask it). Label keys and names are in
// common/api/owned-objects.ts.
import type * as k8s from "@kubernetes/client-node";
import { API_VERSION, LABELS } from "../../common/api/index.js";

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
