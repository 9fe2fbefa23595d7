// activeDeadlineSeconds, counted from startTime: past it the training fails;
// before it, come back when it passes.
import { TrainingReason } from "../../../common/api/index.js";
import type { Decision, TrainingFacts } from "./decision.js";
import { failTraining } from "./fail.js";

export function deadline(facts: TrainingFacts, d: Decision): boolean {
  d.status.startTime ??= facts.now.toISOString();
  const seconds = facts.spec.activeDeadlineSeconds;
  if (seconds === undefined) return false;
  const at = Date.parse(d.status.startTime) + seconds * 1000;
  const left = at - facts.now.getTime();
  if (left > 0) {
    d.requeueAfter(left);
    return false;
  }
  failTraining(
    facts,
    d,
    TrainingReason.DeadlineExceeded,
    `ran longer than activeDeadlineSeconds (${seconds} s)`,
  );
  return true;
}
