// The StyleServer controller: the shared wiring (controller/kube/
// kind-controller.ts) over StyleServers and the Deployments they own (a
// Deployment's status change enqueues its server).
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import type { EventRecorder } from "../kube/events.js";
import type { Informer } from "../kube/informer.js";
import { KindController } from "../kube/kind-controller.js";
import type { ControllerMetrics } from "../metrics.js";
import { ServerReconciler, type RawServer } from "./reconciler.js";
import { LABELS, SERVER_DEPLOYMENT_SELECTOR } from "../../common/api/owned-objects.js";
import { ServerEngines } from "./server-engines.js";

export class ServerController {
  readonly servers: Informer<RawServer>;
  readonly deployments: Informer<k8s.V1Deployment>;
  private readonly controller: KindController<RawServer, k8s.V1Deployment>;

  constructor(
    kc: k8s.KubeConfig,
    config: ControllerConfig,
    events: EventRecorder,
    metrics: ControllerMetrics,
    log: Logger,
  ) {
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const engines = new ServerEngines(kc, config.STYLEKUBE_SERVER_METADATA_URL, log);
    this.controller = new KindController<RawServer, k8s.V1Deployment>({
      kc,
      kind: "StyleServer",
      plural: "styleservers",
      owned: {
        name: "deployments",
        path: (ns) => (ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : "/apis/apps/v1/deployments"),
        list: (ns) =>
          ns
            ? apps.listNamespacedDeployment({ namespace: ns, labelSelector: SERVER_DEPLOYMENT_SELECTOR })
            : apps.listDeploymentForAllNamespaces({ labelSelector: SERVER_DEPLOYMENT_SELECTOR }),
        labelSelector: SERVER_DEPLOYMENT_SELECTOR,
        ownerLabel: LABELS.server,
      },
      namespace: config.STYLEKUBE_WATCH_NAMESPACE,
      resyncMs: config.STYLEKUBE_RESYNC_SECONDS * 1000,
      workers: config.STYLEKUBE_RECONCILE_WORKERS,
      metrics,
      log,
      reconciler: ({ primary }) =>
        new ServerReconciler({ kc, servers: primary, engines, events, config, log }),
    });
    this.servers = this.controller.primary;
    this.deployments = this.controller.owned;
  }

  /** Start watching (every replica: see TrainingController.startCaches). */
  startCaches(): void {
    this.controller.startCaches();
  }

  /** Reconcile (the leader only), once both caches have synced. */
  startReconciling(leading: AbortSignal): Promise<void> {
    return this.controller.startReconciling(leading);
  }

  synced(): boolean {
    return this.controller.synced();
  }

  stop(): Promise<void> {
    return this.controller.stop();
  }
}
