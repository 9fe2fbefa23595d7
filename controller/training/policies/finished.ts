// A training that Succeeded or Failed stays so: pods still running are
// removed (finished ones are kept for their logs), every tracking finalizer is
// released, the model is deployed if asked and not yet, and the TTL runs.
import { TrainingCondition } from "../../../common/api/index.js";
import { isTrue } from "../../kube/conditions.js";
import { isTerminal } from "../worker-pod.js";
import type { Decision, TrainingFacts } from "./decision.js";
import { expireAfterTtl } from "./ttl.js";

export function isFinished(phase: string | undefined): boolean {
  return phase === "Succeeded" || phase === "Failed";
}

export function finished(facts: TrainingFacts, d: Decision): boolean {
  if (!isFinished(facts.status.phase)) return false;
  d.act({
    kind: "deletePods",
    names: facts.pods.filter((p) => !p.deleting && !isTerminal(p)).map((p) => p.name),
  });
  d.release(facts.pods);
  deployIfWanted(facts, d);
  expireAfterTtl(facts, d);
  return true;
}

/** Auto-deploy once Succeeded, until the Deployed condition says it is done. */
export function deployIfWanted(facts: TrainingFacts, d: Decision): void {
  if (
    d.status.phase === "Succeeded" &&
    facts.spec.serving &&
    !isTrue(d.status.conditions, TrainingCondition.Deployed)
  )
    d.act({ kind: "deploy" });
}
