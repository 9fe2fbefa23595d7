// Level-triggered reconciliation of one StyleServer, in the StyleTraining
// reconciler's shape: read what is (the object, and whatever exists under
// the names of its Deployment, Service, PodDisruptionBudget and HPA), let the policies
// (./policies/) decide the next status and what to do, record that status
// (a write guarded by the resourceVersion it was decided from), announce it,
// then act: server-side apply the objects (so only the fields the operator
// manages are compared and written) and delete an HPA that is no longer
// wanted. An object of one of those names that this StyleServer does not
// control is read, reported and never written or deleted.
import * as k8s from "@kubernetes/client-node";
import { isDeepStrictEqual } from "node:util";
import {
  API_VERSION,
  GROUP,
  VERSION,
  validateStyleServer,
  type StyleServer,
  type StyleServerStatus,
} from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import { ignoreConflict, ignoreNotFound } from "../kube/api-errors.js";
import type { EventRecorder } from "../kube/events.js";
import type { Informer } from "../kube/informer.js";
import { OwnWrites } from "../kube/own-writes.js";
import type { ServerEngines } from "./server-engines.js";
import { serverObjectName } from "../../common/api/owned-objects.js";
import { occupantOf } from "./ownership.js";
import { decideServer } from "./policies/decide.js";
import type { ObservedServer, ServerAction, ServerEvent } from "./policies/decision.js";

export interface RawServer {
  metadata: k8s.V1ObjectMeta;
  spec?: unknown;
  status?: StyleServerStatus;
}

const FIELD_MANAGER = "stylekube-controller";

export class ServerReconciler {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly apps: k8s.AppsV1Api;
  private readonly core: k8s.CoreV1Api;
  private readonly autoscaling: k8s.AutoscalingV2Api;
  private readonly policy: k8s.PolicyV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly now: () => Date;
  private readonly written = new OwnWrites<RawServer>();

  constructor(
    private readonly deps: {
      kc: k8s.KubeConfig;
      servers: Informer<RawServer>;
      /** Reads the engine each ready replica chose (status.engine). */
      engines: ServerEngines;
      events: EventRecorder;
      config: ControllerConfig;
      log: Logger;
      now?: () => Date;
    },
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(deps.kc);
    this.apps = deps.kc.makeApiClient(k8s.AppsV1Api);
    this.core = deps.kc.makeApiClient(k8s.CoreV1Api);
    this.autoscaling = deps.kc.makeApiClient(k8s.AutoscalingV2Api);
    this.policy = deps.kc.makeApiClient(k8s.PolicyV1Api);
    this.custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const raw = this.written.read(key, this.deps.servers.get(key));
    if (!raw || raw.metadata.deletionTimestamp) return {}; // owned objects are garbage-collected
    const validation = validateStyleServer({
      ...raw,
      apiVersion: API_VERSION,
      kind: "StyleServer",
      status: undefined,
    });
    // 1. Read.
    const observed: ObservedServer = {
      status: raw.status ?? {},
      generation: raw.metadata.generation,
      now: this.now(),
      occupants: {},
      ...(validation.ok ? await this.observe(validation.value) : {}),
    };
    // 2. Decide.
    const decision = decideServer(observed, validation, this.deps.config);
    // 3. Record. A conflict throws: nothing below happens, and the retry decides again.
    const recorded = await this.writeStatus(key, raw, decision.status);
    // 4. Announce, then act.
    for (const e of decision.events) await this.announce(recorded, e);
    for (const action of decision.actions) await this.perform(raw.metadata.namespace!, action);
    return decision.requeueAfterMs !== undefined ? { requeueAfterMs: decision.requeueAfterMs } : {};
  }

  /**
   * What exists under the server's object names, read from the apiserver:
   * the Deployment informer sees only the operator's labelled Deployments,
   * and an object someone else made under the name must be seen too.
   */
  private async observe(server: StyleServer): Promise<Omit<ObservedServer, "status" | "generation" | "now">> {
    const name = serverObjectName(server.metadata.name!);
    const namespace = server.metadata.namespace!;
    const uid = server.metadata.uid!;
    const [deployment, service, budget, autoscaler] = await Promise.all([
      this.apps.readNamespacedDeployment({ name, namespace }).catch(ignoreNotFound),
      this.core.readNamespacedService({ name, namespace }).catch(ignoreNotFound),
      this.policy.readNamespacedPodDisruptionBudget({ name, namespace }).catch(ignoreNotFound),
      this.autoscaling.readNamespacedHorizontalPodAutoscaler({ name, namespace }).catch(ignoreNotFound),
    ]);
    const occupants = {
      Deployment: occupantOf(deployment, uid),
      Service: occupantOf(service, uid),
      PodDisruptionBudget: occupantOf(budget, uid),
      HorizontalPodAutoscaler: occupantOf(autoscaler, uid),
    };
    if (!occupants.Deployment?.ours) return { occupants };
    const ready = (deployment?.status?.readyReplicas ?? 0) > 0;
    const engine = ready ? await this.deps.engines.of(namespace, server.metadata.name!) : undefined;
    return { occupants, deployment, ...(engine !== undefined ? { engine } : {}) };
  }

  private async perform(namespace: string, action: ServerAction): Promise<void> {
    switch (action.kind) {
      case "apply":
        // The name was free or ours when read; the one round trip since is the only window.
        await this.objects.patch(
          action.object,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          k8s.PatchStrategy.ServerSideApply,
        );
        break;
      case "deleteAutoscaler":
        // Conditional on the uid read: an HPA made anew under the name since is not ours to delete.
        await this.autoscaling
          .deleteNamespacedHorizontalPodAutoscaler({
            name: action.name,
            namespace,
            body: { preconditions: { uid: action.uid } },
          })
          .catch(ignoreNotFound)
          .catch(ignoreConflict);
        break;
    }
  }

  private announce(server: RawServer, e: ServerEvent): Promise<void> {
    return this.deps.events.record(
      { apiVersion: API_VERSION, kind: "StyleServer", metadata: server.metadata as EventMetadata },
      e.type,
      e.reason,
      e.message,
    );
  }

  /**
   * Replace the status through the status subresource with the
   * resourceVersion it was decided from (a conflict means someone wrote in
   * between). Returns the object as written (remembered, so the next pass
   * reads its own write before the watch delivers it), or the input when
   * nothing changed.
   */
  private async writeStatus(key: string, raw: RawServer, status: StyleServerStatus): Promise<RawServer> {
    if (isDeepStrictEqual(raw.status ?? {}, status)) return raw;
    const { name, namespace } = raw.metadata as { name: string; namespace: string };
    const written = (await this.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: "styleservers",
      name,
      body: { apiVersion: API_VERSION, kind: "StyleServer", metadata: raw.metadata, spec: raw.spec, status },
    })) as RawServer;
    this.written.remember(key, written);
    return written;
  }
}

type EventMetadata = { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
