// A changed spec.workers changes the world size every rank averages over, so
// the running gang cannot keep going: restart it as a new attempt with the new
// size, from the latest checkpoint. Not a failure: no restart is counted.
import { TrainingCondition, TrainingReason } from "../../../common/api/index.js";
import type { WorkerPod } from "../worker-pod.js";
import { nextAttempt } from "./attempts.js";
import type { Decision, TrainingFacts } from "./decision.js";

export function rescale(facts: TrainingFacts, d: Decision, current: readonly WorkerPod[]): boolean {
  const n = facts.spec.workers;
  const other = current.find((p) => p.worldSize !== undefined && p.worldSize !== n);
  if (!other) return false;
  const attempt = nextAttempt(facts, d, current);
  const message = `spec.workers changed from ${other.worldSize} to ${n}; restarting all workers as attempt ${attempt} from the latest checkpoint`;
  d.condition(TrainingCondition.Restarting, "True", TrainingReason.Rescaled, message);
  d.condition(TrainingCondition.Running, "False", TrainingReason.Rescaled, message);
  d.event("Normal", TrainingReason.Rescaled, message);
  return true;
}
