// Why pods are not there yet, in words, for the failure message of a wait
// that timed out: each pod's phase, its conditions that are not True (an
// unschedulable pod's PodScheduled says "0/2 nodes are available: 1
// Insufficient cpu"), its containers that wait or died and why, and the
// namespace's recent events about those pods (or all of them when there are
// no pods at all: a ReplicaSet's FailedCreate, a quota). Takes the objects as
// kubectl's JSON or @kubernetes/client-node gives them; the same field names.
import * as k8s from "@kubernetes/client-node";

export interface DiagnosedPod {
  metadata?: { name?: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    conditions?: { type?: string; status?: string; reason?: string; message?: string }[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
  };
}

interface ContainerStatus {
  name?: string;
  ready?: boolean;
  restartCount?: number;
  state?: {
    waiting?: { reason?: string; message?: string };
    terminated?: { reason?: string; exitCode?: number; message?: string };
  };
  lastState?: { terminated?: { reason?: string; exitCode?: number } };
}

export interface DiagnosedEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  involvedObject?: { kind?: string; name?: string };
  lastTimestamp?: string | Date | null;
  eventTime?: string | Date | null;
  metadata?: { creationTimestamp?: string | Date };
}

/** Events shown at most, newest last. */
const MAX_EVENTS = 15;

const reasonAndMessage = (r?: string, m?: string): string => [r, m].filter(Boolean).join(": ");

function containerLine(c: ContainerStatus): string | undefined {
  const restarts = c.restartCount ? `, ${c.restartCount} restarts` : "";
  const waiting = c.state?.waiting;
  if (waiting)
    return `container ${c.name} waiting (${reasonAndMessage(waiting.reason, waiting.message)}${restarts})`;
  const dead = c.state?.terminated;
  if (dead)
    return `container ${c.name} terminated (${reasonAndMessage(dead.reason, dead.message)}, exit ${dead.exitCode}${restarts})`;
  if (c.ready === false) {
    const last = c.lastState?.terminated;
    const before = last ? `; last exit ${last.exitCode} ${last.reason ?? ""}`.trimEnd() : "";
    return `container ${c.name} running, not ready${restarts}${before}`;
  }
  return undefined;
}

/** One pod in one line: name, phase, node, what is not True and which containers are not ready. */
export function describePod(pod: DiagnosedPod): string {
  const status = pod.status ?? {};
  const parts = [
    `phase ${status.phase ?? "unknown"}`,
    pod.spec?.nodeName ? `node ${pod.spec.nodeName}` : "no node",
  ];
  for (const c of status.conditions ?? []) {
    if (c.status === "True") continue;
    const why = reasonAndMessage(c.reason, c.message);
    parts.push(`${c.type}=${c.status}${why ? ` (${why})` : ""}`);
  }
  for (const c of [...(status.initContainerStatuses ?? []), ...(status.containerStatuses ?? [])]) {
    const line = containerLine(c);
    if (line) parts.push(line);
  }
  return `pod ${pod.metadata?.name ?? "?"}: ${parts.join("; ")}`;
}

function eventTime(e: DiagnosedEvent): number {
  const t = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
  return t ? new Date(t).getTime() : 0;
}

/**
 * The pods (or "no pods match") and the events about them, newest last, as
 * lines for an error message.
 */
export function describePods(what: string, pods: DiagnosedPod[], events: DiagnosedEvent[]): string {
  const names = new Set(pods.map((p) => p.metadata?.name));
  const relevant = events
    .filter(
      (e) => pods.length === 0 || (e.involvedObject?.kind === "Pod" && names.has(e.involvedObject.name)),
    )
    .sort((a, b) => eventTime(a) - eventTime(b))
    .slice(-MAX_EVENTS);
  const lines = pods.length === 0 ? [`no pods match ${what}`] : pods.map(describePod);
  if (relevant.length === 0) lines.push("no events");
  for (const e of relevant) {
    const count = e.count && e.count > 1 ? ` (×${e.count})` : "";
    lines.push(
      `event ${e.type ?? ""} ${e.involvedObject?.kind}/${e.involvedObject?.name}: ${reasonAndMessage(e.reason, e.message)}${count}`,
    );
  }
  return lines.join("\n");
}

/** For a wait on pods through the API (integration tests): the pods matching `selector` and the namespace's events, described. */
export function explainPods(kc: k8s.KubeConfig, namespace: string, selector: string): () => Promise<string> {
  return async () => {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const [pods, events] = await Promise.all([
      core.listNamespacedPod({ namespace, labelSelector: selector }),
      core.listNamespacedEvent({ namespace }),
    ]);
    return describePods(`${selector} in ${namespace}`, pods.items, events.items);
  };
}
