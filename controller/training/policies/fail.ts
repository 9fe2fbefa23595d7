// The one way a training ends in Failed (backoffLimit, deadline, a permanent error): phase,
// completion time, conditions, one event, and its pods retired.
import { TrainingCondition, type TrainingReasonType } from "../../../common/api/index.js";
import type { Decision, ObservedTraining } from "./decision.js";

export function failTraining(
  facts: ObservedTraining,
  d: Decision,
  reason: TrainingReasonType,
  message: string,
): void {
  d.status.phase = "Failed";
  d.status.completionTime = facts.now.toISOString();
  d.status.workers = { ready: 0, total: 0 };
  d.condition(TrainingCondition.Failed, "True", reason, message);
  d.condition(TrainingCondition.Running, "False", reason, message);
  d.condition(TrainingCondition.Restarting, "False", reason, message);
  d.event("Warning", reason, message);
  d.retire(facts.pods);
}
