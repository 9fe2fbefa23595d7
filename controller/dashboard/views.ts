// What the page shows, computed from the informer caches, the live progress
// and the dashboard's own memory. Plain JSON, built the same way for the
// first load and for every live update, so the two can never disagree.
import type * as k8s from "@kubernetes/client-node";
import {
  StyleServerSpecSchema,
  StyleTrainingSpecSchema,
  type Condition,
  type StyleServerStatus,
  type StyleTrainingStatus,
} from "../../common/api/index.js";
import type { RawServer } from "../serving/reconciler.js";
import type { RawTraining } from "../training/reconciler.js";
import type { RecentEvent } from "./recent-events.js";
import { LABELS } from "../../common/api/owned-objects.js";

export interface WorkerView {
  name: string;
  rank: number | null;
  attempt: number | null;
  /** Pod phase, or Terminating while it is being deleted. */
  phase: string;
  ready: boolean;
  /** Why it is not running: a waiting reason (ImagePullBackOff …) or how it ended. */
  reason: string | null;
  restarts: number;
  node: string | null;
}

export interface TrainingView {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  created: string | null;
  phase: string;
  /** True when the spec could not be read (the status says why). */
  invalidSpec: boolean;
  suspend: boolean;
  attempt: number;
  restarts: number;
  backoffLimit: number | null;
  workers: { ready: number; total: number; desired: number };
  progress: StyleTrainingStatus["progress"] | null;
  /** λc, λs, λTV of the spec: the charts show each term's share of the total, λ·ℓ. */
  lossWeights: { content: number; style: number; tv: number } | null;
  /** True when progress comes from workers' messages newer than the status. */
  live: boolean;
  lastCheckpoint: StyleTrainingStatus["lastCheckpoint"] | null;
  modelURI: string | null;
  output: string | null;
  serving: { server: string; style: string } | null;
  startTime: string | null;
  completionTime: string | null;
  conditions: Condition[];
  pods: WorkerView[];
  events: readonly RecentEvent[];
  /** Checkpoints with previews, oldest first, and the held-out photos stylised at each. */
  previews: PreviewView[];
}

export interface PreviewView {
  step: number;
  photos: string[];
}

export interface ServerView {
  key: string;
  namespace: string;
  name: string;
  uid: string;
  replicas: number;
  statusReplicas: number;
  readyReplicas: number;
  styles: string[];
  loadedStyles: string[];
  autoscaling: { minReplicas: number; maxReplicas: number } | null;
  conditions: Condition[];
  events: readonly RecentEvent[];
}

export function trainingKey(obj: { metadata: k8s.V1ObjectMeta }): string {
  return `${obj.metadata.namespace ?? ""}/${obj.metadata.name ?? ""}`;
}

export function workerView(pod: k8s.V1Pod): WorkerView {
  const labels = pod.metadata?.labels ?? {};
  const num = (v: string | undefined) => (v !== undefined && /^\d+$/.test(v) ? Number(v) : null);
  const statuses = pod.status?.containerStatuses ?? [];
  let reason: string | null = null;
  for (const c of statuses) {
    const waiting = c.state?.waiting?.reason;
    const term = c.state?.terminated;
    if (waiting) reason = waiting;
    else if (term) reason = `${term.reason ?? "Terminated"} (exit ${term.exitCode})`;
  }
  reason ??= pod.status?.reason ?? null;
  const ready =
    pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true &&
    !pod.metadata?.deletionTimestamp;
  return {
    name: pod.metadata?.name ?? "",
    rank: num(labels[LABELS.rank]),
    attempt: num(labels[LABELS.attempt]),
    phase: pod.metadata?.deletionTimestamp ? "Terminating" : (pod.status?.phase ?? "Pending"),
    ready,
    reason,
    restarts: statuses.reduce((s, c) => s + (c.restartCount ?? 0), 0),
    node: pod.spec?.nodeName ?? null,
  };
}

export interface TrainingInputs {
  training: RawTraining;
  pods: readonly k8s.V1Pod[];
  /** Progress folded from workers' messages for the current attempt, if any was heard. */
  liveProgress: StyleTrainingStatus["progress"] | undefined;
  events: readonly RecentEvent[];
  previews: readonly PreviewView[];
}

export function trainingView({
  training,
  pods,
  liveProgress,
  events,
  previews,
}: TrainingInputs): TrainingView {
  const status = training.status ?? {};
  const parsed = StyleTrainingSpecSchema.safeParse(training.spec);
  const spec = parsed.success ? parsed.data : undefined;
  const attempt = status.attempt ?? 0;
  const workers = pods
    .map(workerView)
    .sort((a, b) => (b.attempt ?? 0) - (a.attempt ?? 0) || (a.rank ?? 0) - (b.rank ?? 0));
  const current = workers.filter((w) => w.attempt === attempt && w.phase !== "Terminating");
  // Live progress beats the status (written at most every few seconds), but
  // only while it is ahead: a status from a newer attempt wins.
  const statusStep = status.progress?.step ?? -1;
  const live = liveProgress !== undefined && liveProgress.step >= statusStep;
  const progress = live ? liveProgress : (status.progress ?? null);
  return {
    key: trainingKey(training),
    namespace: training.metadata.namespace ?? "",
    name: training.metadata.name ?? "",
    uid: training.metadata.uid ?? "",
    created: toIso(training.metadata.creationTimestamp),
    phase: status.phase ?? "Pending",
    invalidSpec: !parsed.success,
    suspend: spec?.suspend ?? false,
    attempt,
    restarts: status.restarts ?? 0,
    backoffLimit: spec?.backoffLimit ?? null,
    workers: {
      ready: status.workers?.ready ?? current.filter((w) => w.ready).length,
      total: status.workers?.total ?? current.length,
      desired: spec?.workers ?? 0,
    },
    progress: progress ?? null,
    lossWeights: spec
      ? {
          content: spec.hyperparameters.contentWeight,
          style: spec.hyperparameters.styleWeight,
          tv: spec.hyperparameters.tvWeight,
        }
      : null,
    live,
    lastCheckpoint: status.lastCheckpoint ?? null,
    modelURI: status.modelURI ?? null,
    output: spec?.output ?? null,
    serving: spec?.serving
      ? { server: spec.serving.server, style: spec.serving.style ?? training.metadata.name ?? "" }
      : null,
    startTime: status.startTime ?? null,
    completionTime: status.completionTime ?? null,
    conditions: status.conditions ?? [],
    pods: workers,
    events,
    previews: previews.map((p) => ({ step: p.step, photos: [...p.photos] })),
  };
}

export function serverView(server: RawServer, events: readonly RecentEvent[]): ServerView {
  const status: StyleServerStatus = server.status ?? {};
  const parsed = StyleServerSpecSchema.safeParse(server.spec);
  const spec = parsed.success ? parsed.data : undefined;
  return {
    key: trainingKey(server),
    namespace: server.metadata.namespace ?? "",
    name: server.metadata.name ?? "",
    uid: server.metadata.uid ?? "",
    replicas: spec?.replicas ?? 0,
    statusReplicas: status.replicas ?? 0,
    readyReplicas: status.readyReplicas ?? 0,
    styles: Object.keys(spec?.styles ?? {}).sort(),
    loadedStyles: [...(status.loadedStyles ?? [])].sort(),
    autoscaling: spec?.autoscaling
      ? { minReplicas: spec.autoscaling.minReplicas, maxReplicas: spec.autoscaling.maxReplicas }
      : null,
    conditions: status.conditions ?? [],
    events,
  };
}

function toIso(v: Date | string | undefined): string | null {
  if (v === undefined) return null;
  return typeof v === "string" ? v : v.toISOString();
}
