// A worker that exits with PERMANENT_FAILURE_EXIT_CODE found something no
// retry can fix (a missing style image, dataset or loss network, an
// unreadable model, a spec it cannot run), so the training fails at once with
// the worker's own words — the field and the URI — instead of spending
// backoffLimit on attempts that would fail the same way. This is a Job's
// podFailurePolicy with a FailJob rule on that exit code; every other
// failure keeps the gang restart and its backoff (./worker-failure.ts).
import { TrainingReason } from "../../../common/api/index.js";
import { PERMANENT_FAILURE_EXIT_CODE } from "../../../common/worker-exit.js";
import type { WorkerPod } from "../worker-pod.js";
import type { Decision, TrainingFacts } from "./decision.js";
import { failTraining } from "./fail.js";

export function isPermanentFailure(p: WorkerPod): boolean {
  return p.state === "failed" && p.exitCode === PERMANENT_FAILURE_EXIT_CODE;
}

export function describePermanentFailure(p: WorkerPod): string {
  const why = p.terminationMessage ?? "it left no termination message; see its log";
  return `worker ${p.rank} (${p.name}) failed with a permanent error (exit code ${PERMANENT_FAILURE_EXIT_CODE}): ${why}; not retried (backoffLimit is for transient failures)`;
}

export function permanentFailure(facts: TrainingFacts, d: Decision, current: readonly WorkerPod[]): boolean {
  const failed = current.find(isPermanentFailure);
  if (!failed) return false;
  failTraining(facts, d, TrainingReason.PermanentError, describePermanentFailure(failed));
  return true;
}
