// Wires the StyleServer reconciler: informers on StyleServers and on the
// Deployments they own (a Deployment's status change enqueues its server).
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import { ControllerLoop } from "../kube/controller-loop.js";
import type { EventRecorder } from "../kube/events.js";
import { customResourceInformer } from "../kube/custom-resource-informer.js";
import { Informer } from "../kube/informer.js";
import type { ControllerMetrics } from "../metrics.js";
import { ServerReconciler, type RawServer } from "./reconciler.js";

const DEPLOYMENT_SELECTOR = "app.kubernetes.io/component=server,app.kubernetes.io/managed-by=stylekube";

export class ServerController {
  readonly servers: Informer<RawServer>;
  readonly deployments: Informer<k8s.V1Deployment>;
  private readonly loop: ControllerLoop;

  constructor(
    kc: k8s.KubeConfig,
    config: ControllerConfig,
    events: EventRecorder,
    metrics: ControllerMetrics,
    private readonly log: Logger,
  ) {
    const ns = config.STYLEKUBE_WATCH_NAMESPACE;
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    const resyncMs = config.STYLEKUBE_RESYNC_SECONDS * 1000;
    this.servers = customResourceInformer<RawServer>({
      kc,
      plural: "styleservers",
      namespace: ns,
      resyncMs,
      log,
    });
    this.deployments = new Informer<k8s.V1Deployment>({
      kc,
      path: ns ? `/apis/apps/v1/namespaces/${ns}/deployments` : "/apis/apps/v1/deployments",
      labelSelector: DEPLOYMENT_SELECTOR,
      list: () =>
        ns
          ? apps.listNamespacedDeployment({ namespace: ns, labelSelector: DEPLOYMENT_SELECTOR })
          : apps.listDeploymentForAllNamespaces({ labelSelector: DEPLOYMENT_SELECTOR }),
      resyncMs,
      log: log.child({ informer: "deployments" }),
    });
    const reconciler = new ServerReconciler({
      kc,
      servers: this.servers,
      deployments: this.deployments,
      events,
      config,
      log,
    });
    this.loop = new ControllerLoop(
      "StyleServer",
      reconciler,
      metrics,
      log,
      config.STYLEKUBE_RECONCILE_WORKERS,
    );
    this.servers.on((_e, obj) => this.loop.queue.add(`${obj.metadata.namespace}/${obj.metadata.name}`));
    this.deployments.on((_e, d) => {
      const owner = d.metadata?.labels?.["stylekube.io/server"];
      if (owner) this.loop.queue.add(`${d.metadata?.namespace}/${owner}`);
    });
  }

  /** Start watching (every replica: see TrainingController.startCaches). */
  startCaches(): void {
    this.servers.start();
    this.deployments.start();
  }

  /** Reconcile (the leader only), once both caches have synced. */
  async startReconciling(leading: AbortSignal): Promise<void> {
    await Promise.all([this.servers.waitForSync(), this.deployments.waitForSync()]);
    if (leading.aborted) return;
    this.loop.start();
    this.log.info({ servers: this.servers.list().length }, "StyleServer controller started");
  }

  synced(): boolean {
    return this.servers.hasSynced() && this.deployments.hasSynced();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.all([this.servers.stop(), this.deployments.stop()]);
  }
}
