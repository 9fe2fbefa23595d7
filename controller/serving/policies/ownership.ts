// The names a StyleServer's objects need may be taken: an object of that
// name exists and is not controlled by this StyleServer (someone made it by
// hand, another tool manages it, or an earlier StyleServer of the same name
// still owns it until the garbage collector gets to it). The operator leaves
// such an object alone, says so in the ResourcesOwned condition and with a
// Warning event per object, and looks again a little later.
import {
  ServerCondition,
  ServerEventReason,
  ServerReason,
  serverObjectName,
} from "../../../common/api/index.js";
import { getCondition } from "../../kube/conditions.js";
import type { Occupant } from "../ownership.js";
import type { ServerDecision, ServerFacts, ServerObjectKind } from "./decision.js";

/** While a name is taken, look again this often (Services and HPAs are not watched). */
export const NOT_OWNED_RETRY_MS = 15_000;

/** The kinds of object this spec needs: the HPA only with spec.autoscaling. */
export function neededKinds(facts: ServerFacts): ServerObjectKind[] {
  const kinds: ServerObjectKind[] = ["Deployment", "Service", "PodDisruptionBudget"];
  if (facts.server.spec.autoscaling) kinds.push("HorizontalPodAutoscaler");
  return kinds;
}

/** Needed objects whose name is held by an object this server does not control. */
export function takenKinds(facts: ServerFacts): ServerObjectKind[] {
  return neededKinds(facts).filter((kind) => facts.occupants[kind]?.ours === false);
}

function whose(occupant: Occupant, facts: ServerFacts): string {
  const c = occupant.controller;
  if (!c) return "it has no controller";
  if (c.kind === "StyleServer" && c.name === facts.server.metadata.name)
    return `its controller is an earlier StyleServer ${c.name} (uid ${c.uid}), whose objects the garbage collector deletes`;
  return `its controller is ${c.kind} ${c.name}`;
}

/** One sentence per taken name: what, whose, and the two ways out. */
export function takenMessage(kind: ServerObjectKind, facts: ServerFacts): string {
  const name = serverObjectName(facts.server.metadata.name!);
  return (
    `${kind} ${name} already exists and is not controlled by this StyleServer ` +
    `(${whose(facts.occupants[kind]!, facts)}), so the operator leaves it alone; ` +
    `rename the StyleServer, or delete or rename the ${kind}.`
  );
}

export function ownership(facts: ServerFacts, d: ServerDecision): void {
  const taken = takenKinds(facts);
  if (taken.length === 0) {
    d.condition(
      ServerCondition.ResourcesOwned,
      "True",
      ServerReason.AllResourcesOwned,
      "the Deployment, Service, PodDisruptionBudget and HPA (with autoscaling) of this name are this StyleServer's",
    );
    return;
  }
  const before = getCondition(facts.status.conditions, ServerCondition.ResourcesOwned);
  const said = before?.status === "False" ? before.message : "";
  const sentences = taken.map((kind) => takenMessage(kind, facts));
  for (const sentence of sentences)
    if (!said.includes(sentence)) d.event("Warning", ServerEventReason.ResourceExists, sentence);
  d.condition(ServerCondition.ResourcesOwned, "False", ServerReason.ResourceNotOwned, sentences.join(" "));
  d.requeueAfter(NOT_OWNED_RETRY_MS);
}
