// Every rank of the current attempt exited 0: the model is at
// <output>model/ (common/storage/training-layout.ts), progress is complete, and the model is deployed if asked.
import { TrainingCondition, TrainingEventReason, TrainingReason } from "../../../common/api/index.js";
import { modelPrefix } from "../../../common/storage/training-layout.js";
import type { WorkerPod } from "../worker-pod.js";
import type { Decision, TrainingFacts } from "./decision.js";
import { deployIfWanted } from "./finished.js";
import { expireAfterTtl } from "./ttl.js";

export function success(facts: TrainingFacts, d: Decision, current: readonly WorkerPod[]): boolean {
  const { spec, now } = facts;
  const done = new Set(
    current.filter((p) => p.state === "succeeded" && p.rank < spec.workers).map((p) => p.rank),
  );
  if (done.size < spec.workers) return false;
  const s = d.status;
  s.phase = "Succeeded";
  s.completionTime = now.toISOString();
  s.modelURI = modelPrefix(spec.output);
  s.workers = { ready: 0, total: spec.workers };
  const total = spec.hyperparameters.iterations;
  s.progress = {
    ...(s.progress ?? { imagesPerSecond: 0 }),
    step: total,
    totalSteps: total,
    percent: 100,
    etaSeconds: 0,
  };
  d.condition(TrainingCondition.Running, "False", TrainingReason.Completed, "all workers finished");
  d.condition(TrainingCondition.Restarting, "False", TrainingReason.Completed, "all workers finished");
  d.condition(
    TrainingCondition.Succeeded,
    "True",
    TrainingReason.Completed,
    `model written to ${s.modelURI}`,
  );
  d.event(
    "Normal",
    TrainingEventReason.Succeeded,
    `training finished after ${s.attempt} attempt(s); model at ${s.modelURI}`,
  );
  d.release(facts.pods);
  deployIfWanted(facts, d);
  expireAfterTtl(facts, d);
  return true;
}
