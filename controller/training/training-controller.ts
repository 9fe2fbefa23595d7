// Wires the StyleTraining reconciler: informers on StyleTrainings and their
// worker pods (a pod event enqueues its owner), progress from NATS, and the
// loop that reconciles one key at a time.
import * as k8s from "@kubernetes/client-node";
import type { NatsConnection } from "nats";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import { ControllerLoop } from "../kube/controller-loop.js";
import type { EventRecorder } from "../kube/events.js";
import { customResourceInformer } from "../kube/custom-resource-informer.js";
import { Informer } from "../kube/informer.js";
import type { ControllerMetrics } from "../metrics.js";
import { LABELS, WORKER_SELECTOR } from "./labels.js";
import { ProgressTracker } from "./progress-tracker.js";
import { TrainingReconciler, type RawTraining } from "./reconciler.js";

export class TrainingController {
  readonly trainings: Informer<RawTraining>;
  readonly pods: Informer<k8s.V1Pod>;
  readonly progress: ProgressTracker;
  private readonly loop: ControllerLoop;

  constructor(
    kc: k8s.KubeConfig,
    config: ControllerConfig,
    events: EventRecorder,
    private readonly metrics: ControllerMetrics,
    private readonly log: Logger,
  ) {
    const ns = config.STYLEKUBE_WATCH_NAMESPACE;
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const resyncMs = config.STYLEKUBE_RESYNC_SECONDS * 1000;
    this.trainings = customResourceInformer<RawTraining>({
      kc,
      plural: "styletrainings",
      namespace: ns,
      resyncMs,
      log,
    });
    this.pods = new Informer<k8s.V1Pod>({
      kc,
      path: ns ? `/api/v1/namespaces/${ns}/pods` : "/api/v1/pods",
      labelSelector: WORKER_SELECTOR,
      list: () =>
        ns
          ? core.listNamespacedPod({ namespace: ns, labelSelector: WORKER_SELECTOR })
          : core.listPodForAllNamespaces({ labelSelector: WORKER_SELECTOR }),
      resyncMs,
      log: log.child({ informer: "pods" }),
    });
    this.progress = new ProgressTracker(
      (key) => this.loop.queue.add(key),
      config.STYLEKUBE_STATUS_INTERVAL_MS,
      log.child({ part: "progress" }),
    );
    const reconciler = new TrainingReconciler({
      kc,
      trainings: this.trainings,
      pods: this.pods,
      events,
      progress: this.progress,
      config,
      log,
    });
    this.loop = new ControllerLoop(
      "StyleTraining",
      reconciler,
      metrics,
      log,
      config.STYLEKUBE_RECONCILE_WORKERS,
    );

    this.trainings.on((_event, obj) => {
      this.loop.queue.add(`${obj.metadata.namespace}/${obj.metadata.name}`);
      this.countPhases();
    });
    this.pods.on((_event, pod) => {
      const owner = pod.metadata?.labels?.[LABELS.training];
      if (owner) this.loop.queue.add(`${pod.metadata?.namespace}/${owner}`);
    });
  }

  /**
   * Start watching and following progress. Every replica does this, leader or
   * not, so a standby's dashboard shows the same live state and a new leader
   * starts from warm caches.
   */
  startCaches(nc: NatsConnection | undefined): void {
    if (nc) {
      this.progress.start(nc);
      void (async () => {
        for (;;) {
          await new Promise((r) => setTimeout(r, 5000).unref());
          this.metrics.progressMessages.inc(this.progress.messages);
          this.progress.messages = 0;
        }
      })();
    }
    this.trainings.start();
    this.pods.start();
  }

  /** Reconcile (the leader only), once both caches have synced. */
  async startReconciling(leading: AbortSignal): Promise<void> {
    await Promise.all([this.trainings.waitForSync(), this.pods.waitForSync()]);
    if (leading.aborted) return;
    this.loop.start();
    this.log.info({ trainings: this.trainings.list().length }, "StyleTraining controller started");
  }

  synced(): boolean {
    return this.trainings.hasSynced() && this.pods.hasSynced();
  }

  async stop(): Promise<void> {
    this.progress.stop();
    await this.loop.stop();
    await Promise.all([this.trainings.stop(), this.pods.stop()]);
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
