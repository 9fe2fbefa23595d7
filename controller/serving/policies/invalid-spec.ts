// An invalid spec (one that slipped past the CRD schema): Available False
// with the field and the fix; nothing is applied or deleted. Announced once
// per new message.
import { ServerCondition, ServerReason } from "../../../common/api/index.js";
import { getCondition } from "../../kube/conditions.js";
import type { ObservedServer, ServerDecision } from "./decision.js";

export function invalidSpec(observed: ObservedServer, d: ServerDecision, message: string): void {
  const before = getCondition(observed.status.conditions, ServerCondition.Available);
  if (before?.reason !== ServerReason.InvalidSpec || before.message !== message)
    d.event("Warning", ServerReason.InvalidSpec, message);
  d.condition(ServerCondition.Available, "False", ServerReason.InvalidSpec, message);
}
