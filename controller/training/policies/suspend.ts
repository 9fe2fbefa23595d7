// spec.suspend: no pods, progress kept; resuming starts a new attempt from the
// latest checkpoint without counting a restart, and (like a Job) restarts the
// activeDeadlineSeconds clock. Compatible with Kueue.
import { TrainingCondition, TrainingReason } from "../../../common/api/index.js";
import { isTrue } from "../../kube/conditions.js";
import type { Decision, TrainingFacts } from "./decision.js";

export function suspend(facts: TrainingFacts, d: Decision): boolean {
  if (!facts.spec.suspend) return false;
  if (facts.status.phase !== "Suspended") {
    d.event(
      "Normal",
      TrainingReason.Suspended,
      `suspended at attempt ${facts.status.attempt ?? 0}; pods removed, progress kept`,
    );
  }
  d.status.phase = "Suspended";
  d.condition(TrainingCondition.Suspended, "True", TrainingReason.SpecSuspended, "spec.suspend is true");
  d.condition(TrainingCondition.Running, "False", TrainingReason.Suspended, "suspended");
  d.status.workers = { ready: 0, total: 0 };
  d.retire(facts.pods);
  return true;
}

export function resume(facts: TrainingFacts, d: Decision): void {
  if (!isTrue(facts.status.conditions, TrainingCondition.Suspended)) return;
  d.condition(TrainingCondition.Suspended, "False", TrainingReason.Resumed, "spec.suspend is false");
  d.status.startTime = facts.now.toISOString();
  d.status.attempt = (facts.status.attempt ?? 0) + 1;
  d.status.phase = "Pending";
  d.event(
    "Normal",
    TrainingReason.Resumed,
    `resumed as attempt ${d.status.attempt} from the latest checkpoint`,
  );
}
