// ttlSecondsAfterFinished: a finished training deletes itself that long after
// its completionTime (like a Job's TTL-after-finished controller).
import { TrainingEventReason } from "../../../common/api/index.js";
import type { Decision, TrainingFacts } from "./decision.js";

export function expireAfterTtl(facts: TrainingFacts, d: Decision): void {
  const ttl = facts.spec.ttlSecondsAfterFinished;
  const completed = d.status.completionTime;
  if (ttl === undefined || !completed) return;
  const expiresAt = Date.parse(completed) + ttl * 1000;
  const now = facts.now.getTime();
  if (now < expiresAt) return d.requeueAfter(expiresAt - now);
  d.event(
    "Normal",
    TrainingEventReason.Expired,
    `deleting ${ttl} s after it finished (ttlSecondsAfterFinished)`,
  );
  d.act({ kind: "deleteTraining" });
}
