// The StyleTraining policies in the order they apply. Each is a small pure
// function of what was observed; the first that settles the training ends the
// pass. The reconciler records the outcome, then acts on it.
import type { ValidationResult } from "../../../common/api/index.js";
import { currentPods, retireOtherAttempts, startFirstAttempt } from "./attempts.js";
import { deadline } from "./deadline.js";
import { Decision, type ObservedTraining, type TrainingFacts } from "./decision.js";
import { finished } from "./finished.js";
import { invalidSpec, specCorrected } from "./invalid-spec.js";
import { permanentFailure } from "./permanent-failure.js";
import { rescale } from "./rescale.js";
import { success } from "./success.js";
import { resume, suspend } from "./suspend.js";
import { workerFailure } from "./worker-failure.js";
import { runWorkers } from "./workers.js";

export function decideTraining(
  observed: ObservedTraining & { progress?: TrainingFacts["progress"] },
  validation: ValidationResult<{ spec: TrainingFacts["spec"] }>,
): Decision {
  const d = new Decision(observed);
  if (!validation.ok) {
    invalidSpec(observed, d, validation.message);
  } else {
    const facts: TrainingFacts = { ...observed, spec: validation.value.spec };
    specCorrected(facts, d);
    settle(facts, d);
  }
  d.status.observedGeneration = observed.generation;
  return d;
}

function settle(facts: TrainingFacts, d: Decision): void {
  // A decision above may have changed the phase (SpecCorrected): judge the status being built.
  if (finished({ ...facts, status: d.status }, d)) return;
  if (suspend(facts, d)) return;
  resume(facts, d);
  if (deadline(facts, d)) return;
  startFirstAttempt(facts, d);
  retireOtherAttempts(facts, d);
  const current = currentPods(facts, d);
  if (rescale(facts, d, current)) return;
  if (permanentFailure(facts, d, current)) return;
  if (workerFailure(facts, d, current)) return;
  if (success(facts, d, current)) return;
  runWorkers(facts, d, current);
}
