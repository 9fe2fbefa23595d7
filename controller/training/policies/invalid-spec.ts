// An invalid spec (one that slipped past the CRD schema): Failed/InvalidSpec,
// nothing created, live pods removed. A corrected spec starts afresh.
import { TrainingCondition, TrainingReason } from "../../../common/api/index.js";
import { getCondition } from "../../kube/conditions.js";
import { isTerminal } from "../worker-pod.js";
import type { Decision, ObservedTraining } from "./decision.js";

function markedInvalid(facts: ObservedTraining): boolean {
  return (
    facts.status.phase === "Failed" &&
    getCondition(facts.status.conditions, TrainingCondition.Failed)?.reason === TrainingReason.InvalidSpec
  );
}

export function invalidSpec(facts: ObservedTraining, d: Decision, message: string): void {
  if (!markedInvalid(facts)) d.event("Warning", TrainingReason.InvalidSpec, message);
  d.status.phase = "Failed";
  d.condition(TrainingCondition.Failed, "True", TrainingReason.InvalidSpec, message);
  d.status.workers = { ready: 0, total: 0 };
  d.act({
    kind: "deletePods",
    names: facts.pods.filter((p) => !p.deleting && !isTerminal(p)).map((p) => p.name),
  });
  d.release(facts.pods);
}

/** The spec is valid again after InvalidSpec: back to Pending, the rest decides anew. */
export function specCorrected(facts: ObservedTraining, d: Decision): void {
  if (getCondition(facts.status.conditions, TrainingCondition.Failed)?.reason !== TrainingReason.InvalidSpec)
    return;
  d.condition(TrainingCondition.Failed, "False", TrainingReason.SpecCorrected, "the spec is valid again");
  d.status.phase = "Pending";
}
