// The StyleTraining controller: the shared wiring (controller/kube/
// kind-controller.ts) over StyleTrainings and their worker pods, plus
// progress from NATS and a gauge of trainings by phase.
import * as k8s from "@kubernetes/client-node";
import type { NatsConnection } from "nats";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import type { EventRecorder } from "../kube/events.js";
import type { Informer } from "../kube/informer.js";
import { KindController } from "../kube/kind-controller.js";
import type { ControllerMetrics } from "../metrics.js";
import { ProgressTracker } from "./progress-tracker.js";
import { TrainingReconciler, type RawTraining } from "./reconciler.js";
import { LABELS, WORKER_SELECTOR } from "../../common/api/owned-objects.js";

export class TrainingController {
  readonly trainings: Informer<RawTraining>;
  readonly pods: Informer<k8s.V1Pod>;
  readonly progress: ProgressTracker;
  private readonly controller: KindController<RawTraining, k8s.V1Pod>;
  private metricsTimer: NodeJS.Timeout | undefined;

  constructor(
    kc: k8s.KubeConfig,
    config: ControllerConfig,
    events: EventRecorder,
    private readonly metrics: ControllerMetrics,
    log: Logger,
  ) {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    this.progress = new ProgressTracker(
      (key) => this.controller.enqueue(key),
      config.STYLEKUBE_STATUS_INTERVAL_MS,
      log.child({ part: "progress" }),
    );
    this.controller = new KindController<RawTraining, k8s.V1Pod>({
      kc,
      kind: "StyleTraining",
      plural: "styletrainings",
      owned: {
        name: "pods",
        path: (ns) => (ns ? `/api/v1/namespaces/${ns}/pods` : "/api/v1/pods"),
        list: (ns) =>
          ns
            ? core.listNamespacedPod({ namespace: ns, labelSelector: WORKER_SELECTOR })
            : core.listPodForAllNamespaces({ labelSelector: WORKER_SELECTOR }),
        labelSelector: WORKER_SELECTOR,
        ownerLabel: LABELS.training,
      },
      namespace: config.STYLEKUBE_WATCH_NAMESPACE,
      resyncMs: config.STYLEKUBE_RESYNC_SECONDS * 1000,
      workers: config.STYLEKUBE_RECONCILE_WORKERS,
      metrics,
      log,
      reconciler: ({ primary, owned }) =>
        new TrainingReconciler({
          kc,
          trainings: primary,
          pods: owned,
          events,
          progress: this.progress,
          config,
          log,
        }),
    });
    this.trainings = this.controller.primary;
    this.pods = this.controller.owned;
    this.trainings.on(() => this.countPhases());
  }

  /**
   * Start watching and following progress. Every replica does this, leader or
   * not, so a standby's dashboard shows the same live state and a new leader
   * starts from warm caches.
   */
  startCaches(nc: NatsConnection | undefined): void {
    if (nc) {
      this.progress.start(nc);
      this.metricsTimer = setInterval(() => {
        this.metrics.progressMessages.inc(this.progress.messages);
        this.progress.messages = 0;
      }, 5000).unref();
    }
    this.controller.startCaches();
  }

  /** Reconcile (the leader only), once both caches have synced. */
  startReconciling(leading: AbortSignal): Promise<void> {
    return this.controller.startReconciling(leading);
  }

  synced(): boolean {
    return this.controller.synced();
  }

  async stop(): Promise<void> {
    clearInterval(this.metricsTimer);
    this.progress.stop();
    await this.controller.stop();
  }

  private countPhases(): void {
    const counts = new Map<string, number>();
    for (const t of this.trainings.list()) {
      const phase = t.status?.phase ?? "Pending";
      counts.set(phase, (counts.get(phase) ?? 0) + 1);
    }
    this.metrics.trainingsByPhase.reset();
    for (const [phase, n] of counts) this.metrics.trainingsByPhase.set({ phase }, n);
  }
}
