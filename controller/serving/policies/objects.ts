// The server's objects as the spec asks for them: each one whose name is
// free or already this server's is applied; one whose name is taken is not
// touched (see ownership.ts). Without spec.autoscaling the server's own HPA
// is deleted; an HPA of that name that is not its own (say, one a user made
// for this StyleServer by hand) stays.
import { serverObjectName } from "../../../common/api/index.js";
import {
  buildAutoscaler,
  buildDeployment,
  buildDisruptionBudget,
  buildService,
} from "../server-resources.js";
import type { ServerDecision, ServerFacts } from "./decision.js";
import { takenKinds } from "./ownership.js";

export function applyObjects(facts: ServerFacts, d: ServerDecision): void {
  const taken = new Set(takenKinds(facts));
  if (!taken.has("Deployment")) d.act({ kind: "apply", object: buildDeployment(facts.server, facts.config) });
  if (!taken.has("Service")) d.act({ kind: "apply", object: buildService(facts.server) });
  if (!taken.has("PodDisruptionBudget"))
    d.act({ kind: "apply", object: buildDisruptionBudget(facts.server) });
  const autoscaler = buildAutoscaler(facts.server);
  if (autoscaler) {
    if (!taken.has("HorizontalPodAutoscaler")) d.act({ kind: "apply", object: autoscaler });
    return;
  }
  const existing = facts.occupants.HorizontalPodAutoscaler;
  if (existing?.ours)
    d.act({
      kind: "deleteAutoscaler",
      name: serverObjectName(facts.server.metadata.name!),
      uid: existing.uid,
    });
}
