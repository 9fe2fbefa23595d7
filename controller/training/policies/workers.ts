// The running attempt: create the ranks it lacks, and report what is there —
// Running only when every rank of the attempt is running and ready, never
// from pods this pass has only asked for.
import { TrainingCondition, TrainingEventReason, TrainingReason } from "../../../common/api/index.js";
import type { WorkerPod } from "../worker-pod.js";
import type { Decision, TrainingFacts } from "./decision.js";

export function runWorkers(facts: TrainingFacts, d: Decision, current: readonly WorkerPod[]): void {
  const { spec } = facts;
  const n = spec.workers;
  const attempt = d.status.attempt!;
  const present = new Set(current.map((p) => p.rank));
  const missing = Array.from({ length: n }, (_, rank) => rank).filter((rank) => !present.has(rank));
  d.act({ kind: "createWorkers", attempt, ranks: missing });

  const ranks = current.filter((p) => p.rank < n);
  const ready = ranks.filter((p) => p.state === "ready").length;
  const succeeded = ranks.filter((p) => p.state === "succeeded").length;
  d.status.workers = { ready, total: n };

  const heard = facts.progress?.(attempt, spec.hyperparameters.batchSize * n);
  if (heard?.progress) d.status.progress = heard.progress;
  if (heard?.lastCheckpoint) d.status.lastCheckpoint = heard.lastCheckpoint;

  const previous = facts.status.phase;
  const running = ready > 0 && ready + succeeded === n;
  d.status.phase = running ? "Running" : d.status.phase === "Restarting" ? "Restarting" : "Pending";
  if (running) {
    const message = `${ready} of ${n} workers ready (attempt ${attempt})`;
    d.condition(TrainingCondition.Running, "True", TrainingReason.AllWorkersReady, message);
    d.condition(
      TrainingCondition.Restarting,
      "False",
      TrainingReason.AllWorkersReady,
      `attempt ${attempt} running`,
    );
    if (previous !== "Running")
      d.event("Normal", TrainingEventReason.Running, `all ${n} workers of attempt ${attempt} are running`);
  } else if (previous === "Running") {
    d.condition(
      TrainingCondition.Running,
      "False",
      TrainingReason.WorkersNotReady,
      `${ready} of ${n} workers ready (attempt ${attempt})`,
    );
  }
}
