// Kubernetes Events for an object, so `kubectl describe` tells its story.
// Repeats of the same reason and message bump the count instead of piling up.
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import { isNotFound } from "./api-errors.js";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** The two calls the recorder makes (CoreV1Api's), so a test can stand in for the apiserver. */
export type EventsApi = Pick<k8s.CoreV1Api, "createNamespacedEvent" | "patchNamespacedEvent">;

/** Events remembered for aggregation; past this the memory starts over. */
const MAX_REMEMBERED = 5000;

export class EventRecorder {
  private readonly api: EventsApi;
  private readonly recent = new Map<string, { name: string; count: number }>();

  constructor(
    kc: k8s.KubeConfig,
    private readonly component: string,
    private readonly log: Logger,
    api?: EventsApi,
  ) {
    this.api = api ?? kc.makeApiClient(k8s.CoreV1Api);
  }

  async record(
    target: EventTarget,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const namespace = target.metadata.namespace ?? "default";
    const now = new Date();
    const key = `${target.metadata.uid}/${type}/${reason}/${message}`;
    this.log.info({ object: `${target.kind}/${namespace}/${target.metadata.name}`, type, reason }, message);
    try {
      const seen = this.recent.get(key);
      if (seen && (await this.bump(key, seen, namespace, now))) return;
      const event = await this.api.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${target.metadata.name}.`, namespace },
          involvedObject: {
            apiVersion: target.apiVersion,
            kind: target.kind,
            name: target.metadata.name,
            namespace,
            uid: target.metadata.uid,
            resourceVersion: target.metadata.resourceVersion,
          },
          type,
          reason,
          message,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.component },
          reportingComponent: this.component,
          reportingInstance: process.env.POD_NAME ?? "local",
        },
      });
      if (this.recent.size > MAX_REMEMBERED) this.recent.clear();
      this.recent.set(key, { name: event.metadata!.name!, count: 1 });
    } catch (err) {
      // Events are best effort: losing one must never fail a reconcile.
      this.log.warn({ err, reason }, "could not record event");
    }
  }

  /**
   * Count a repeat on the Event already recorded. A failed PATCH forgets the
   * key, so the next repeat is not lost the same way; a 404 (the apiserver's
   * event TTL removed it) is answered by creating a new Event at once.
   */
  private async bump(
    key: string,
    seen: { name: string; count: number },
    namespace: string,
    now: Date,
  ): Promise<boolean> {
    try {
      await this.api.patchNamespacedEvent(
        { name: seen.name, namespace, body: { count: seen.count + 1, lastTimestamp: now } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      seen.count++;
      return true;
    } catch (err) {
      this.recent.delete(key);
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
