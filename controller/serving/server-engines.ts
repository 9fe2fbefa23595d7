// The engine each ready server replica chose, for StyleServer.status.engine.
// A replica decides at start (spec.engine auto tries the fastest first), so
// only the server knows: the operator asks each ready pod once (GET /v2, the
// server metadata) and remembers the answer for that pod's container run.
import * as k8s from "@kubernetes/client-node";
import { engineLabel, ServerMetadataSchema } from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import { serverSelector } from "../../common/api/owned-objects.js";
import { SERVER_PORT } from "./server-resources.js";

const PROBE_TIMEOUT_MS = 2000;

/** The metadata URL of one pod from the template (STYLEKUBE_SERVER_METADATA_URL). */
export function metadataUrl(template: string, pod: k8s.V1Pod, port = SERVER_PORT): string {
  const ip = pod.status?.podIP ?? "";
  return template
    .replaceAll("{podIP}", ip.includes(":") ? `[${ip}]` : ip)
    .replaceAll("{port}", String(port))
    .replaceAll("{namespace}", pod.metadata?.namespace ?? "")
    .replaceAll("{pod}", pod.metadata?.name ?? "");
}

/** The engines of the replicas, distinct and sorted, as status.engine shows them. */
export function summarizeEngines(labels: readonly string[]): string | undefined {
  const distinct = [...new Set(labels)].sort();
  return distinct.length > 0 ? distinct.join(", ") : undefined;
}

const isReady = (pod: k8s.V1Pod) =>
  pod.metadata?.deletionTimestamp === undefined &&
  pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

export class ServerEngines {
  private readonly core: k8s.CoreV1Api;
  /** Pod uid + container restarts → its engine label (a restarted container may choose again). */
  private readonly known = new Map<string, string>();

  constructor(
    kc: k8s.KubeConfig,
    private readonly urlTemplate: string,
    private readonly log: Logger,
  ) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  /**
   * The engines the ready replicas of a server report; undefined when none
   * answered (no ready pod, or none reachable: the caller keeps what it had).
   */
  async of(namespace: string, server: string): Promise<string | undefined> {
    const pods = await this.core.listNamespacedPod({ namespace, labelSelector: serverSelector(server) });
    const ready = pods.items.filter(isReady);
    const labels = await Promise.all(ready.map((pod) => this.engineOf(pod)));
    const live = new Set(pods.items.map((p) => p.metadata?.uid));
    for (const key of this.known.keys()) if (!live.has(key.split("/")[0])) this.known.delete(key);
    return summarizeEngines(labels.filter((l): l is string => l !== undefined));
  }

  private async engineOf(pod: k8s.V1Pod): Promise<string | undefined> {
    const restarts = pod.status?.containerStatuses?.[0]?.restartCount ?? 0;
    const key = `${pod.metadata?.uid}/${restarts}`;
    const cached = this.known.get(key);
    if (cached !== undefined) return cached;
    const url = metadataUrl(this.urlTemplate, pod);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const metadata = ServerMetadataSchema.parse(await res.json());
      const label = engineLabel(metadata.engine);
      this.known.set(key, label);
      return label;
    } catch (err) {
      // Unreachable (a NetworkPolicy, an old server without /v2): status.engine stays as it was.
      this.log.debug({ err, pod: pod.metadata?.name, url }, "cannot read a server pod's engine");
      return undefined;
    }
  }
}
