// Gang semantics: synchronous training cannot go on without every worker, so
// a worker of the current attempt that failed, was deleted or was evicted
// ends the attempt. The failure is counted in status.restarts together with
// the move to the next attempt, in one status write; past backoffLimit the
// training fails instead.
import { TrainingCondition, TrainingReason } from "../../../common/api/index.js";
import type { WorkerPod } from "../worker-pod.js";
import { nextAttempt } from "./attempts.js";
import type { Decision, TrainingFacts } from "./decision.js";
import { failTraining } from "./fail.js";

/** The pod that ends the attempt: a failed one first (its exit code says more), else one going away. */
export function firstFailure(current: readonly WorkerPod[]): WorkerPod | undefined {
  return (
    current.find((p) => p.state === "failed") ?? current.find((p) => p.deleting && p.state !== "succeeded")
  );
}

export function describeFailure(p: WorkerPod): string {
  return p.state === "failed"
    ? `worker ${p.rank} (${p.name}) failed: ${p.why}`
    : `worker ${p.rank} (${p.name}) ${p.why}`;
}

export function workerFailure(facts: TrainingFacts, d: Decision, current: readonly WorkerPod[]): boolean {
  const failed = firstFailure(current);
  if (!failed) return false;
  const reason = describeFailure(failed);
  const restarts = (d.status.restarts ?? 0) + 1;
  d.status.restarts = restarts;
  const limit = facts.spec.backoffLimit;
  if (restarts > limit) {
    failTraining(
      facts,
      d,
      TrainingReason.BackoffLimitExceeded,
      `${reason}; ${restarts} failed attempts exceed backoffLimit ${limit}`,
    );
    return true;
  }
  const attempt = nextAttempt(facts, d, current);
  d.condition(
    TrainingCondition.Restarting,
    "True",
    TrainingReason.WorkerFailed,
    `${reason}; restarting as attempt ${attempt}`,
  );
  d.condition(TrainingCondition.Running, "False", TrainingReason.WorkerFailed, reason);
  d.event(
    "Warning",
    TrainingReason.WorkerFailed,
    `${reason}; restarting all workers as attempt ${attempt} from the latest checkpoint`,
  );
  return true;
}
