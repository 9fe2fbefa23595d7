// The StyleServer policies in the order they apply, each a small pure
// function of what was observed. The reconciler records the outcome, then
// acts on it.
import type { StyleServer, ValidationResult } from "../../../common/api/index.js";
import type { ControllerConfig } from "../../config.js";
import { ServerDecision, type ObservedServer } from "./decision.js";
import { invalidSpec } from "./invalid-spec.js";
import { applyObjects } from "./objects.js";
import { ownership } from "./ownership.js";
import { replicaStatus } from "./replicas.js";

export function decideServer(
  observed: ObservedServer,
  validation: ValidationResult<StyleServer>,
  config: ControllerConfig,
): ServerDecision {
  const d = new ServerDecision(observed);
  if (!validation.ok) {
    invalidSpec(observed, d, validation.message);
  } else {
    const facts = { ...observed, server: validation.value, config };
    ownership(facts, d);
    applyObjects(facts, d);
    replicaStatus(facts, d);
  }
  d.status.observedGeneration = observed.generation;
  return d;
}
