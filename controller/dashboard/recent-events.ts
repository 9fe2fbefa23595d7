// The newest Kubernetes events the operator recorded, per object, for the
// dashboard. The operator's ServiceAccount may create events but not list
// them (least privilege), so it remembers what it wrote instead of reading
// them back; `kubectl describe` still shows the full list.
import type * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import { EventRecorder, type EventTarget } from "../kube/events.js";

export interface RecentEvent {
  type: "Normal" | "Warning";
  reason: string;
  message: string;
  /** ISO time of the newest occurrence. */
  time: string;
  count: number;
}

export class RecentEvents {
  private readonly byObject = new Map<string, RecentEvent[]>();
  private readonly listeners: ((key: string, kind: string) => void)[] = [];

  constructor(private readonly perObject = 20) {}

  onChange(listener: (key: string, kind: string) => void): void {
    this.listeners.push(listener);
  }

  add(kind: string, key: string, type: "Normal" | "Warning", reason: string, message: string): void {
    const id = `${kind}/${key}`;
    const list = this.byObject.get(id) ?? [];
    const time = new Date().toISOString();
    const same = list.find((e) => e.type === type && e.reason === reason && e.message === message);
    if (same) {
      same.count++;
      same.time = time;
      list.splice(list.indexOf(same), 1);
      list.unshift(same);
    } else {
      list.unshift({ type, reason, message, time, count: 1 });
      if (list.length > this.perObject) list.length = this.perObject;
    }
    this.byObject.set(id, list);
    for (const l of this.listeners) l(key, kind);
  }

  list(kind: string, key: string): readonly RecentEvent[] {
    return this.byObject.get(`${kind}/${key}`) ?? [];
  }

  forget(kind: string, key: string): void {
    this.byObject.delete(`${kind}/${key}`);
  }
}

/** An EventRecorder that also tells the dashboard what it recorded. */
export class RememberingEventRecorder extends EventRecorder {
  constructor(
    kc: k8s.KubeConfig,
    component: string,
    log: Logger,
    readonly remembered: RecentEvents,
  ) {
    super(kc, component, log);
  }

  override async record(
    target: EventTarget,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const { namespace = "default", name = "" } = target.metadata;
    this.remembered.add(target.kind, `${namespace}/${name}`, type, reason, message);
    await super.record(target, type, reason, message);
  }
}
