// The wiring every controller here shares: an informer on the kind it
// reconciles, an informer on what it owns (an owned object's change enqueues
// its owner, named by a label), and the loop that reconciles one key at a
// time once both caches have synced. Every replica runs the caches (the
// dashboard reads them; a new leader starts warm); only the leader reconciles.
import type * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerMetrics } from "../metrics.js";
import { ControllerLoop, type Reconciler } from "./controller-loop.js";
import { customResourceInformer } from "./custom-resource-informer.js";
import { Informer, type ListResult, type ObjectWithMeta } from "./informer.js";

export interface OwnedKind<S> {
  /** For logs: "pods", "deployments". */
  name: string;
  /** Watch path, for one namespace or (empty) all. */
  path: (namespace: string) => string;
  list: (namespace: string) => Promise<ListResult<S>>;
  labelSelector: string;
  /** Label on an owned object that names its owner in the same namespace. */
  ownerLabel: string;
}

export interface KindControllerOptions<P extends ObjectWithMeta, S extends ObjectWithMeta> {
  kc: k8s.KubeConfig;
  /** "StyleTraining": metrics and logs. */
  kind: string;
  /** "styletrainings": the custom resource's plural. */
  plural: string;
  owned: OwnedKind<S>;
  /** Empty: all namespaces. */
  namespace: string;
  resyncMs: number;
  workers: number;
  metrics: ControllerMetrics;
  log: Logger;
  reconciler: (caches: { primary: Informer<P>; owned: Informer<S> }) => Reconciler;
}

export class KindController<P extends ObjectWithMeta, S extends ObjectWithMeta> {
  readonly primary: Informer<P>;
  readonly owned: Informer<S>;
  private readonly loop: ControllerLoop;

  constructor(private readonly opts: KindControllerOptions<P, S>) {
    const { kc, namespace, resyncMs, log, owned } = opts;
    this.primary = customResourceInformer<P>({ kc, plural: opts.plural, namespace, resyncMs, log });
    this.owned = new Informer<S>({
      kc,
      path: owned.path(namespace),
      labelSelector: owned.labelSelector,
      list: () => owned.list(namespace),
      resyncMs,
      log: log.child({ informer: owned.name }),
    });
    const reconciler = opts.reconciler({ primary: this.primary, owned: this.owned });
    this.loop = new ControllerLoop(opts.kind, reconciler, opts.metrics, log, opts.workers);
    this.primary.on((_event, obj) => this.enqueue(`${obj.metadata?.namespace}/${obj.metadata?.name}`));
    this.owned.on((_event, obj) => {
      const owner = (obj.metadata as { labels?: Record<string, string> } | undefined)?.labels?.[
        owned.ownerLabel
      ];
      if (owner) this.enqueue(`${obj.metadata?.namespace}/${owner}`);
    });
  }

  enqueue(key: string): void {
    this.loop.queue.add(key);
  }

  startCaches(): void {
    this.primary.start();
    this.owned.start();
  }

  /** Reconcile (the leader only), once both caches have synced. */
  async startReconciling(leading: AbortSignal): Promise<void> {
    await Promise.all([this.primary.waitForSync(), this.owned.waitForSync()]);
    if (leading.aborted) return;
    this.loop.start();
    this.opts.log.info({ kind: this.opts.kind, objects: this.primary.list().length }, "controller started");
  }

  synced(): boolean {
    return this.primary.hasSynced() && this.owned.hasSynced();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
    await Promise.all([this.primary.stop(), this.owned.stop()]);
  }
}
