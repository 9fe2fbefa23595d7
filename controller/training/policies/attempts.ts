// Which attempt is current: attempt 1 starts when a training is first seen,
// and pods of any other attempt are retired (their outcome is already in the
// status that moved past them).
import { TrainingCondition, TrainingEventReason, TrainingReason } from "../../../common/api/index.js";
import type { WorkerPod } from "../worker-pod.js";
import type { Decision, TrainingFacts } from "./decision.js";

export function startFirstAttempt(facts: TrainingFacts, d: Decision): void {
  if (d.status.attempt) return;
  const n = facts.spec.workers;
  d.status.attempt = 1;
  d.condition(
    TrainingCondition.Created,
    "True",
    TrainingReason.WorkersCreated,
    `attempt 1 with ${n} workers`,
  );
  d.event("Normal", TrainingEventReason.Created, `starting attempt 1 with ${n} workers`);
}

export function currentPods(facts: TrainingFacts, d: Decision): WorkerPod[] {
  return facts.pods.filter((p) => p.attempt === d.status.attempt);
}

export function retireOtherAttempts(facts: TrainingFacts, d: Decision): void {
  d.retire(facts.pods.filter((p) => p.attempt !== d.status.attempt));
}

/** Move on to the next attempt: the current one's pods are retired once this is recorded. */
export function nextAttempt(facts: TrainingFacts, d: Decision, current: readonly WorkerPod[]): number {
  const attempt = (d.status.attempt ?? 0) + 1;
  d.status.attempt = attempt;
  d.status.phase = "Restarting";
  d.status.workers = { ready: 0, total: facts.spec.workers };
  d.retire(current);
  return attempt;
}
