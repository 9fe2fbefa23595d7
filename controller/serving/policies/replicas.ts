// The server's status from its Deployment: replicas and ready replicas (the
// scale subresource's status), the styles every replica has loaded, the
// engine they report, and the Available and Progressing conditions. A
// Deployment of that name that is not the server's says nothing about it:
// no replica of this server runs.
import { ServerCondition, ServerReason, serverSelector } from "../../../common/api/index.js";
import { stylesEnvValue, templateStyles } from "../server-resources.js";
import type { ServerDecision, ServerFacts } from "./decision.js";
import { takenMessage } from "./ownership.js";

/** Every replica runs the current template and is ready: all spec styles are served. */
function rolledOut(facts: ServerFacts): boolean {
  const observed = facts.deployment;
  if (!observed) return false;
  const ds = observed.status ?? {};
  const desired = facts.server.spec.replicas;
  return (
    (ds.observedGeneration ?? 0) >= (observed.metadata?.generation ?? 0) &&
    (ds.updatedReplicas ?? 0) === desired &&
    (ds.readyReplicas ?? 0) === desired &&
    (ds.replicas ?? 0) === desired &&
    templateStyles(observed) === stylesEnvValue(facts.server)
  );
}

function deploymentNotOurs(facts: ServerFacts, d: ServerDecision): void {
  const message = takenMessage("Deployment", facts);
  d.status.replicas = 0;
  d.status.readyReplicas = 0;
  delete d.status.loadedStyles;
  delete d.status.engine;
  d.condition(ServerCondition.Available, "False", ServerReason.ResourceNotOwned, message);
  d.condition(ServerCondition.Progressing, "False", ServerReason.ResourceNotOwned, message);
}

export function replicaStatus(facts: ServerFacts, d: ServerDecision): void {
  d.status.selector = serverSelector(facts.server.metadata.name!);
  if (facts.occupants.Deployment?.ours === false) return deploymentNotOurs(facts, d);
  const ds = facts.deployment?.status ?? {};
  const desired = facts.server.spec.replicas;
  const ready = ds.readyReplicas ?? 0;
  const done = rolledOut(facts);
  d.status.replicas = ds.replicas ?? 0;
  d.status.readyReplicas = ready;
  // Ready pods have loaded every style of their template (their readiness
  // probe says so), so once the rollout is complete all spec styles are served.
  if (done) d.status.loadedStyles = Object.keys(facts.server.spec.styles).sort();
  // What the replicas run (auto resolved), as they report it; nothing when none serves.
  if (ready === 0) delete d.status.engine;
  else if (facts.engine !== undefined) d.status.engine = facts.engine;
  if (ready > 0 || desired === 0)
    d.condition(
      ServerCondition.Available,
      "True",
      ServerReason.ReplicasReady,
      `${ready} of ${desired} replicas ready`,
    );
  else
    d.condition(
      ServerCondition.Available,
      "False",
      ServerReason.NoReplicasReady,
      `0 of ${desired} replicas ready`,
    );
  if (done)
    d.condition(
      ServerCondition.Progressing,
      "False",
      ServerReason.RolledOut,
      "every replica serves the current styles",
    );
  else
    d.condition(
      ServerCondition.Progressing,
      "True",
      ServerReason.RollingOut,
      `${ds.updatedReplicas ?? 0} of ${desired} replicas updated`,
    );
}
