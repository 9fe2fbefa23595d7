// Kubernetes Events for an object, so `kubectl describe` tells its story.
// Repeats of the same reason and message bump the count instead of piling up.
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export class EventRecorder {
  private readonly api: k8s.CoreV1Api;
  private readonly recent = new Map<string, { name: string; count: number }>();

  constructor(
    kc: k8s.KubeConfig,
    private readonly component: string,
    private readonly log: Logger,
  ) {
    this.api = kc.makeApiClient(k8s.CoreV1Api);
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
      if (seen) {
        seen.count++;
        await this.api.patchNamespacedEvent(
          { name: seen.name, namespace, body: { count: seen.count, lastTimestamp: now } },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
        );
        return;
      }
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
      if (this.recent.size > 5000) this.recent.clear();
      this.recent.set(key, { name: event.metadata!.name!, count: 1 });
    } catch (err) {
      // Events are best effort: losing one must never fail a reconcile.
      this.log.warn({ err: String(err), reason }, "could not record event");
    }
  }
}
