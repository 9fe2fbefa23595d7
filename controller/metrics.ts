// Prometheus metrics of the operator, on /metrics.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "../common/metrics/process-metrics.js";

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconciles = new Counter({
    name: "stylekube_reconcile_total",
    help: "Reconciles by kind and result (success, error, requeue).",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: "stylekube_reconcile_duration_seconds",
    help: "Time to reconcile one object.",
    labelNames: ["kind"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: "stylekube_reconcile_errors_total",
    help: "Reconciles that failed and were retried with backoff.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "stylekube_workqueue_depth",
    help: "Keys waiting in the work queue.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly queueAdds = new Counter({
    name: "stylekube_workqueue_adds_total",
    help: "Keys added to the work queue.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({
    name: "stylekube_workqueue_retries_total",
    help: "Keys requeued with backoff after an error.",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly trainingsByPhase = new Gauge({
    name: "stylekube_trainings",
    help: "StyleTrainings by phase.",
    labelNames: ["phase"] as const,
    registers: [this.registry],
  });
  readonly progressMessages = new Counter({
    name: "stylekube_progress_messages_total",
    help: "Worker progress messages received over NATS.",
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: "stylekube_leader",
    help: "1 while this replica holds the leader Lease.",
    registers: [this.registry],
  });

  /** stylekube_build_info, always 1; its labels say what is running. */
  readonly buildInfo = registerProcessMetrics(this.registry);

  queueMetrics(kind: string) {
    return {
      depth: (n: number) => this.queueDepth.set({ kind }, n),
      added: () => this.queueAdds.inc({ kind }),
      retried: () => this.queueRetries.inc({ kind }),
    };
  }
}
