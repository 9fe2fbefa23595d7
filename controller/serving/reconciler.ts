// Level-triggered reconciliation of one StyleServer: server-side apply its
// Deployment, Service and HPA (so only the fields we own are compared and
// written), remove an HPA that is no longer wanted, and report replicas,
// readiness and loaded styles through the status subresource.
import * as k8s from "@kubernetes/client-node";
import { isDeepStrictEqual } from "node:util";
import {
  API_VERSION,
  GROUP,
  VERSION,
  ServerCondition,
  ServerReason,
  validateStyleServer,
  type StyleServerStatus,
} from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import { getCondition, setCondition } from "../kube/conditions.js";
import type { EventRecorder } from "../kube/events.js";
import type { Informer } from "../kube/informer.js";
import type { ServerEngines } from "./server-engines.js";
import { buildAutoscaler, buildDeployment, buildService } from "./server-resources.js";
import { serverObjectName, serverSelector } from "../../common/api/owned-objects.js";

export interface RawServer {
  metadata: k8s.V1ObjectMeta;
  spec?: unknown;
  status?: StyleServerStatus;
}

const FIELD_MANAGER = "stylekube-controller";

export class ServerReconciler {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly autoscaling: k8s.AutoscalingV2Api;
  private readonly custom: k8s.CustomObjectsApi;

  constructor(
    private readonly deps: {
      kc: k8s.KubeConfig;
      servers: Informer<RawServer>;
      deployments: Informer<k8s.V1Deployment>;
      /** Reads the engine each ready replica chose (status.engine). */
      engines: ServerEngines;
      events: EventRecorder;
      config: ControllerConfig;
      log: Logger;
      now?: () => Date;
    },
  ) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(deps.kc);
    this.autoscaling = deps.kc.makeApiClient(k8s.AutoscalingV2Api);
    this.custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const raw = this.deps.servers.get(key);
    if (!raw || raw.metadata.deletionTimestamp) return {}; // owned objects are garbage-collected
    const now = (this.deps.now ?? (() => new Date()))();
    const generation = raw.metadata.generation;
    const status: StyleServerStatus = structuredClone(raw.status ?? {});
    const target = {
      apiVersion: API_VERSION,
      kind: "StyleServer",
      metadata: raw.metadata as { name?: string; namespace?: string; uid?: string },
    };

    const validation = validateStyleServer({
      ...raw,
      apiVersion: API_VERSION,
      kind: "StyleServer",
      status: undefined,
    });
    if (!validation.ok) {
      const before = getCondition(status.conditions, ServerCondition.Available);
      status.conditions = setCondition(
        status.conditions,
        {
          type: ServerCondition.Available,
          status: "False",
          reason: ServerReason.InvalidSpec,
          message: validation.message,
        },
        generation,
        now,
      );
      status.observedGeneration = generation;
      await this.writeStatus(raw, status);
      // Announced once per transition, and only once it is recorded.
      if (before?.reason !== ServerReason.InvalidSpec || before.message !== validation.message)
        await this.deps.events.record(target, "Warning", ServerReason.InvalidSpec, validation.message);
      return {};
    }
    const server = validation.value;
    const name = server.metadata.name!;
    const namespace = server.metadata.namespace!;

    const deployment = buildDeployment(server, this.deps.config);
    await this.apply(deployment);
    await this.apply(buildService(server));
    const hpa = buildAutoscaler(server);
    if (hpa) await this.apply(hpa);
    else {
      await this.autoscaling
        .deleteNamespacedHorizontalPodAutoscaler({ name: serverObjectName(name), namespace })
        .catch((err: unknown) => {
          if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
        });
    }

    const observed = this.deps.deployments.get(`${namespace}/${serverObjectName(name)}`);
    const ds = observed?.status ?? {};
    const desired = server.spec.replicas;
    const rolledOut =
      observed !== undefined &&
      (ds.observedGeneration ?? 0) >= (observed.metadata?.generation ?? 0) &&
      (ds.updatedReplicas ?? 0) === desired &&
      (ds.readyReplicas ?? 0) === desired &&
      (ds.replicas ?? 0) === desired &&
      observed.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === "STYLEKUBE_STYLES")
        ?.value ===
        deployment.spec!.template.spec!.containers[0]!.env!.find((e) => e.name === "STYLEKUBE_STYLES")?.value;

    status.replicas = ds.replicas ?? 0;
    status.readyReplicas = ds.readyReplicas ?? 0;
    status.selector = serverSelector(name);
    // Ready pods have loaded every style of their template (their readiness
    // probe says so), so once the rollout is complete all spec styles are served.
    if (rolledOut) status.loadedStyles = Object.keys(server.spec.styles).sort();
    // What the replicas run (auto resolved), as they report it; nothing when none serves.
    if ((ds.readyReplicas ?? 0) === 0) delete status.engine;
    else {
      const engine = await this.deps.engines.of(namespace, name);
      if (engine !== undefined) status.engine = engine;
    }
    const available = (ds.readyReplicas ?? 0) > 0 || desired === 0;
    status.conditions = setCondition(
      status.conditions,
      available
        ? {
            type: ServerCondition.Available,
            status: "True",
            reason: ServerReason.ReplicasReady,
            message: `${ds.readyReplicas ?? 0} of ${desired} replicas ready`,
          }
        : {
            type: ServerCondition.Available,
            status: "False",
            reason: ServerReason.NoReplicasReady,
            message: `0 of ${desired} replicas ready`,
          },
      generation,
      now,
    );
    status.conditions = setCondition(
      status.conditions,
      rolledOut
        ? {
            type: ServerCondition.Progressing,
            status: "False",
            reason: ServerReason.RolledOut,
            message: "every replica serves the current styles",
          }
        : {
            type: ServerCondition.Progressing,
            status: "True",
            reason: ServerReason.RollingOut,
            message: `${ds.updatedReplicas ?? 0} of ${desired} replicas updated`,
          },
      generation,
      now,
    );
    status.observedGeneration = generation;
    await this.writeStatus(raw, status);
    return {};
  }

  private async apply(obj: k8s.KubernetesObject): Promise<void> {
    await this.objects.patch(
      obj,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      k8s.PatchStrategy.ServerSideApply,
    );
  }

  private async writeStatus(raw: RawServer, status: StyleServerStatus): Promise<void> {
    if (isDeepStrictEqual(raw.status ?? {}, status)) return;
    const { name, namespace } = raw.metadata as { name: string; namespace: string };
    await this.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: "styleservers",
      name,
      body: { apiVersion: API_VERSION, kind: "StyleServer", metadata: raw.metadata, spec: raw.spec, status },
    });
  }
}
