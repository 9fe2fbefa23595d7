// Drives one reconciler: a work queue fed by informers, drained by a few
// concurrent workers (client-go's MaxConcurrentReconciles) — the queue never
// hands the same key to two of them, so each object is still reconciled one
// step at a time — errors retried with per-key backoff, results timed into metrics.
import type { Logger } from "../../common/log/logger.js";
import type { ControllerMetrics } from "../metrics.js";
import { isConflict } from "./api-errors.js";
import { WorkQueue } from "./workqueue.js";

export interface Reconciler {
  reconcile(key: string): Promise<{ requeueAfterMs?: number }>;
}

export class ControllerLoop {
  readonly queue: WorkQueue;
  private running: Promise<void> | undefined;

  constructor(
    private readonly kind: string,
    private readonly reconciler: Reconciler,
    private readonly metrics: ControllerMetrics,
    private readonly log: Logger,
    private readonly workers = 1,
  ) {
    this.queue = new WorkQueue(metrics.queueMetrics(kind));
  }

  start(): void {
    this.running ??= Promise.all(Array.from({ length: Math.max(1, this.workers) }, () => this.loop())).then(
      () => undefined,
    );
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.running;
  }

  private async loop(): Promise<void> {
    for (;;) {
      const key = await this.queue.get();
      if (key === undefined) return;
      const end = this.metrics.reconcileDuration.startTimer({ kind: this.kind });
      try {
        const result = await this.reconciler.reconcile(key);
        this.queue.forget(key);
        if (result.requeueAfterMs !== undefined) {
          this.queue.addAfter(key, result.requeueAfterMs);
          this.metrics.reconciles.inc({ kind: this.kind, result: "requeue" });
        } else {
          this.metrics.reconciles.inc({ kind: this.kind, result: "success" });
        }
      } catch (err) {
        const delay = this.queue.addRateLimited(key);
        this.metrics.reconciles.inc({ kind: this.kind, result: "error" });
        this.metrics.reconcileErrors.inc({ kind: this.kind });
        const conflict = isConflict(err);
        this.log[conflict ? "debug" : "warn"](
          { key, kind: this.kind, err, retryInMs: delay },
          "reconcile failed",
        );
      } finally {
        end();
        this.queue.done(key);
      }
    }
  }
}
