// Level-triggered reconciliation of one StyleTraining: from the object and
// its pods as they are now (never from the events that led here), decide
// which pods should exist and what the status says, and make it so.
//
// Lifecycle: Pending → Running → Succeeded, with gang restarts (Restarting)
// when any worker fails, Suspended while spec.suspend, and Failed on an
// invalid spec, an exhausted backoffLimit or an exceeded activeDeadline.
import * as k8s from "@kubernetes/client-node";
import { isDeepStrictEqual } from "node:util";
import {
  API_VERSION,
  GROUP,
  VERSION,
  validateStyleTraining,
  type StyleTraining,
  type StyleTrainingStatus,
  type TrainingPhase,
} from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import { getCondition, isTrue, setCondition, type ConditionUpdate } from "../kube/conditions.js";
import type { EventRecorder } from "../kube/events.js";
import type { Informer } from "../kube/informer.js";
import { CREDS_KEY, jobCredentialsSecretName, mintJobCredentials } from "../nats/job-credentials.js";
import { LABELS, trainingOwnerReference } from "./labels.js";
import type { ProgressTracker } from "./progress-tracker.js";
import { buildWorkerPod } from "./worker-pods.js";

export interface RawTraining {
  apiVersion?: string;
  kind?: string;
  metadata: k8s.V1ObjectMeta;
  spec?: unknown;
  status?: StyleTrainingStatus;
}

export interface ReconcileResult {
  requeueAfterMs?: number;
}

export interface TrainingReconcilerDeps {
  kc: k8s.KubeConfig;
  trainings: Informer<RawTraining>;
  pods: Informer<k8s.V1Pod>;
  events: EventRecorder;
  progress: ProgressTracker;
  config: ControllerConfig;
  log: Logger;
  now?: () => Date;
}

const PLURAL = "styletrainings";

type PodState = "pending" | "ready" | "running" | "succeeded" | "failed";

function podState(pod: k8s.V1Pod): PodState {
  switch (pod.status?.phase) {
    case "Succeeded":
      return "succeeded";
    case "Failed":
      return "failed";
    case "Running": {
      const ready = pod.status.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      return ready ? "ready" : "running";
    }
    default:
      return "pending";
  }
}

function failureReason(pod: k8s.V1Pod): string {
  const term = pod.status?.containerStatuses?.find((c) => c.state?.terminated)?.state?.terminated;
  const parts = [
    pod.status?.reason,
    term?.reason,
    term?.exitCode !== undefined ? `exit code ${term.exitCode}` : undefined,
  ];
  const why = parts.filter(Boolean).join(", ");
  return why || pod.status?.message || "failed";
}

export class TrainingReconciler {
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly now: () => Date;
  private readonly serviceAccountsEnsured = new Set<string>();

  constructor(private readonly deps: TrainingReconcilerDeps) {
    this.core = deps.kc.makeApiClient(k8s.CoreV1Api);
    this.custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const raw = this.deps.trainings.get(key);
    if (!raw) {
      // Deleted: ownerReferences let the garbage collector remove the pods.
      this.deps.progress.forget(key);
      return {};
    }
    if (raw.metadata.deletionTimestamp) return {};
    const now = this.now();
    const generation = raw.metadata.generation;
    const status: StyleTrainingStatus = structuredClone(raw.status ?? {});
    const pods = this.podsOf(raw);
    const event = (type: "Normal" | "Warning", reason: string, message: string) =>
      this.deps.events.record(
        { apiVersion: API_VERSION, kind: "StyleTraining", metadata: raw.metadata as EventMetadata },
        type,
        reason,
        message,
      );
    const condition = (u: ConditionUpdate) => {
      status.conditions = setCondition(status.conditions, u, generation, now);
    };

    const result = await this.decide(raw, status, pods, now, event, condition);
    status.observedGeneration = generation;
    await this.writeStatus(raw, status);
    return result;
  }

  private async decide(
    raw: RawTraining,
    status: StyleTrainingStatus,
    pods: k8s.V1Pod[],
    now: Date,
    event: (type: "Normal" | "Warning", reason: string, message: string) => Promise<void>,
    condition: (u: ConditionUpdate) => void,
  ): Promise<ReconcileResult> {
    const key = `${raw.metadata.namespace}/${raw.metadata.name}`;
    const validation = validateStyleTraining({
      ...raw,
      apiVersion: API_VERSION,
      kind: "StyleTraining",
      status: undefined,
    });

    // 1. Invalid spec: nothing is created; a corrected spec gets a fresh start.
    if (!validation.ok) {
      if (status.phase !== "Failed" || getCondition(status.conditions, "Failed")?.reason !== "InvalidSpec") {
        await event("Warning", "InvalidSpec", validation.message);
      }
      await this.deletePods(pods);
      status.phase = "Failed";
      condition({ type: "Failed", status: "True", reason: "InvalidSpec", message: validation.message });
      return {};
    }
    if (getCondition(status.conditions, "Failed")?.reason === "InvalidSpec") {
      condition({
        type: "Failed",
        status: "False",
        reason: "SpecCorrected",
        message: "the spec is valid again",
      });
      status.phase = "Pending";
    }
    const training = validation.value;
    const spec = training.spec;

    // 2. Finished: clean up, and honour ttlSecondsAfterFinished.
    if (status.phase === "Succeeded" || status.phase === "Failed") {
      await this.deletePods(pods.filter((p) => !["succeeded", "failed"].includes(podState(p))));
      if (status.phase === "Succeeded" && spec.serving && !isTrue(status.conditions, "Deployed")) {
        const retry = await this.deploy(training, status, event, condition);
        if (retry) return retry;
      }
      return this.expireAfterTtl(raw, status, now, event);
    }

    // 3. Suspended: no pods, progress kept; resuming continues from the checkpoint.
    if (spec.suspend) {
      if (pods.length > 0) await this.deletePods(pods);
      if (status.phase !== "Suspended") {
        await event(
          "Normal",
          "Suspended",
          `suspended at attempt ${status.attempt ?? 0}; pods removed, progress kept`,
        );
      }
      status.phase = "Suspended";
      condition({
        type: "Suspended",
        status: "True",
        reason: "SpecSuspended",
        message: "spec.suspend is true",
      });
      condition({ type: "Running", status: "False", reason: "Suspended", message: "suspended" });
      status.workers = { ready: 0, total: 0 };
      return {};
    }
    if (isTrue(status.conditions, "Suspended")) {
      condition({ type: "Suspended", status: "False", reason: "Resumed", message: "spec.suspend is false" });
      // Like a Job: the activeDeadlineSeconds clock restarts on resume.
      status.startTime = now.toISOString();
      status.attempt = (status.attempt ?? 0) + 1;
      await event("Normal", "Resumed", `resumed as attempt ${status.attempt} from the latest checkpoint`);
    }

    // 4. Deadline.
    status.startTime ??= now.toISOString();
    if (spec.activeDeadlineSeconds !== undefined) {
      const deadline = Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000;
      if (now.getTime() >= deadline) {
        await this.deletePods(pods);
        return this.fail(
          status,
          "DeadlineExceeded",
          `ran longer than activeDeadlineSeconds (${spec.activeDeadlineSeconds} s)`,
          now,
          event,
          condition,
        );
      }
    }

    // 5. The current attempt.
    if (!status.attempt) {
      status.attempt = 1;
      condition({
        type: "Created",
        status: "True",
        reason: "WorkersCreated",
        message: `attempt 1 with ${spec.workers} workers`,
      });
      await event("Normal", "Created", `starting attempt 1 with ${spec.workers} workers`);
    }
    const attempt = status.attempt;
    const stale = pods.filter((p) => Number(p.metadata?.labels?.[LABELS.attempt]) !== attempt);
    const current = pods.filter((p) => Number(p.metadata?.labels?.[LABELS.attempt]) === attempt);
    if (stale.length > 0) await this.deletePods(stale);

    const failed = current.find((p) => podState(p) === "failed");
    if (failed) {
      // Gang semantics: synchronous training cannot continue without a worker.
      const reason = `worker ${failed.metadata?.labels?.[LABELS.rank]} (${failed.metadata?.name}) failed: ${failureReason(failed)}`;
      await this.deletePods(current);
      status.restarts = (status.restarts ?? 0) + 1;
      if (status.restarts > spec.backoffLimit) {
        return this.fail(
          status,
          "BackoffLimitExceeded",
          `${reason}; ${status.restarts} failed attempts exceed backoffLimit ${spec.backoffLimit}`,
          now,
          event,
          condition,
        );
      }
      status.attempt = attempt + 1;
      status.phase = "Restarting";
      status.workers = { ready: 0, total: spec.workers };
      condition({
        type: "Restarting",
        status: "True",
        reason: "WorkerFailed",
        message: `${reason}; restarting as attempt ${status.attempt}`,
      });
      condition({ type: "Running", status: "False", reason: "WorkerFailed", message: reason });
      await event(
        "Warning",
        "WorkerFailed",
        `${reason}; restarting all workers as attempt ${status.attempt} from the latest checkpoint`,
      );
      return { requeueAfterMs: 0 };
    }

    const byRank = new Map(current.map((p) => [Number(p.metadata?.labels?.[LABELS.rank]), p]));
    let natsCreds: string | undefined;
    if (byRank.size < spec.workers) {
      await this.ensureWorkerServiceAccount(raw.metadata.namespace!);
      natsCreds = await this.ensureJobCredentials(training);
    }
    for (let rank = 0; rank < spec.workers; rank++) {
      if (!byRank.has(rank)) {
        await this.createPod(buildWorkerPod(training, attempt, rank, this.deps.config, natsCreds));
      }
    }
    for (const [rank, pod] of byRank) if (rank >= spec.workers) await this.deletePods([pod]);

    const states = current
      .filter((p) => Number(p.metadata?.labels?.[LABELS.rank]) < spec.workers)
      .map(podState);
    const ready = states.filter((s) => s === "ready").length;
    const succeeded = states.filter((s) => s === "succeeded").length;
    status.workers = { ready, total: spec.workers };

    const summary = this.deps.progress.summary(key, attempt, spec.hyperparameters.batchSize * spec.workers);
    if (summary?.progress) status.progress = summary.progress;
    if (summary?.lastCheckpoint) status.lastCheckpoint = summary.lastCheckpoint;

    if (succeeded === spec.workers) {
      status.phase = "Succeeded";
      status.completionTime = now.toISOString();
      status.modelURI = `${spec.output.replace(/\/?$/, "/")}model/`;
      const total = spec.hyperparameters.iterations;
      status.progress = {
        ...(status.progress ?? { imagesPerSecond: 0 }),
        step: total,
        totalSteps: total,
        percent: 100,
        etaSeconds: 0,
      };
      condition({ type: "Running", status: "False", reason: "Completed", message: "all workers finished" });
      condition({
        type: "Restarting",
        status: "False",
        reason: "Completed",
        message: "all workers finished",
      });
      condition({
        type: "Succeeded",
        status: "True",
        reason: "Completed",
        message: `model written to ${status.modelURI}`,
      });
      await event(
        "Normal",
        "Succeeded",
        `training finished after ${attempt} attempt(s); model at ${status.modelURI}`,
      );
      if (spec.serving) {
        const retry = await this.deploy(training, status, event, condition);
        if (retry) return retry;
      }
      return this.expireAfterTtl(raw, status, now, event);
    }

    const previous = status.phase;
    // Never report Running unless every worker of the attempt is running.
    status.phase =
      ready + succeeded === spec.workers && ready > 0
        ? "Running"
        : previous === "Restarting"
          ? "Restarting"
          : "Pending";
    if (status.phase === "Running") {
      condition({
        type: "Running",
        status: "True",
        reason: "AllWorkersReady",
        message: `${ready} of ${spec.workers} workers ready (attempt ${attempt})`,
      });
      condition({
        type: "Restarting",
        status: "False",
        reason: "AllWorkersReady",
        message: `attempt ${attempt} running`,
      });
      if (previous !== "Running")
        await event("Normal", "Running", `all ${spec.workers} workers of attempt ${attempt} are running`);
    }
    const requeue =
      spec.activeDeadlineSeconds !== undefined
        ? Math.max(0, Date.parse(status.startTime) + spec.activeDeadlineSeconds * 1000 - now.getTime())
        : undefined;
    return requeue !== undefined ? { requeueAfterMs: requeue } : {};
  }

  /**
   * Auto-deploy: put the finished model on the named StyleServer. The server's
   * Deployment then rolls one replica at a time, each ready only once it has
   * loaded every style, so a retrained style replaces the old without an outage.
   */
  private async deploy(
    training: StyleTraining,
    status: StyleTrainingStatus,
    event: (type: "Normal" | "Warning", reason: string, message: string) => Promise<void>,
    condition: (u: ConditionUpdate) => void,
  ): Promise<ReconcileResult | undefined> {
    const serving = training.spec.serving!;
    const name = training.metadata.name!;
    const namespace = training.metadata.namespace!;
    const style = serving.style ?? name;
    try {
      await this.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: "styleservers",
          name: serving.server,
          body: { spec: { styles: { [style]: { modelURI: status.modelURI, trainedBy: name } } } },
        },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 404) {
        const message = `StyleServer ${serving.server} not found in ${namespace}; will deploy when it exists`;
        condition({ type: "Deployed", status: "False", reason: "ServerNotFound", message });
        await event("Warning", "ServerNotFound", message);
        return { requeueAfterMs: 30_000 };
      }
      throw err;
    }
    const message = `style ${style} on StyleServer ${serving.server}`;
    condition({ type: "Deployed", status: "True", reason: "AddedToServer", message });
    await event("Normal", "Deployed", `deployed as ${message}`);
    return undefined;
  }

  private async fail(
    status: StyleTrainingStatus,
    reason: string,
    message: string,
    now: Date,
    event: (type: "Normal" | "Warning", reason: string, message: string) => Promise<void>,
    condition: (u: ConditionUpdate) => void,
  ): Promise<ReconcileResult> {
    status.phase = "Failed";
    status.completionTime = now.toISOString();
    status.workers = { ready: 0, total: 0 };
    condition({ type: "Failed", status: "True", reason, message });
    condition({ type: "Running", status: "False", reason, message });
    condition({ type: "Restarting", status: "False", reason, message });
    await event("Warning", reason, message);
    return {};
  }

  private async expireAfterTtl(
    raw: RawTraining,
    status: StyleTrainingStatus,
    now: Date,
    event: (type: "Normal" | "Warning", reason: string, message: string) => Promise<void>,
  ): Promise<ReconcileResult> {
    const ttl = (raw.spec as { ttlSecondsAfterFinished?: unknown } | undefined)?.ttlSecondsAfterFinished;
    if (typeof ttl !== "number" || !status.completionTime) return {};
    const expiresAt = Date.parse(status.completionTime) + ttl * 1000;
    if (now.getTime() < expiresAt) return { requeueAfterMs: expiresAt - now.getTime() };
    await event("Normal", "Expired", `deleting ${ttl} s after it finished (ttlSecondsAfterFinished)`);
    const { name, namespace } = raw.metadata as { name: string; namespace: string };
    await this.custom
      .deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        propagationPolicy: "Background",
      })
      .catch((err: unknown) => {
        if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
      });
    return {};
  }

  private podsOf(raw: RawTraining): k8s.V1Pod[] {
    const { name, namespace, uid } = raw.metadata;
    return this.deps.pods
      .list()
      .filter(
        (p) =>
          p.metadata?.namespace === namespace &&
          p.metadata?.labels?.[LABELS.training] === name &&
          p.metadata?.ownerReferences?.some((o) => o.uid === uid) &&
          !p.metadata?.deletionTimestamp,
      );
  }

  /**
   * With an account key configured, this job's own NATS credentials in a
   * Secret owned by the training (created once; the garbage collector removes
   * it with the training). Returns the Secret's name, or undefined without a key.
   */
  private async ensureJobCredentials(training: StyleTraining): Promise<string | undefined> {
    const seed = this.deps.config.STYLEKUBE_NATS_ACCOUNT_SEED;
    if (!seed) return undefined;
    const { name, namespace, uid } = training.metadata as { name: string; namespace: string; uid: string };
    const secretName = jobCredentialsSecretName(name, uid);
    const creds = await mintJobCredentials(
      seed,
      { jobId: uid, namespace, name },
      this.deps.config.STYLEKUBE_NATS_CREDS_TTL_SECONDS,
    );
    try {
      await this.core.createNamespacedSecret({
        namespace,
        body: {
          metadata: {
            name: secretName,
            labels: { [LABELS.name]: "stylekube", [LABELS.training]: name },
            ownerReferences: [trainingOwnerReference(name, uid)],
          },
          type: "Opaque",
          stringData: { [CREDS_KEY]: creds },
        },
      });
    } catch (err) {
      // Minted on an earlier reconcile: the first one stays (the operator cannot read Secrets, by design).
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
    return secretName;
  }

  /** Workers run as a ServiceAccount with no API access; it must exist in their namespace. */
  private async ensureWorkerServiceAccount(namespace: string): Promise<void> {
    if (this.serviceAccountsEnsured.has(namespace)) return;
    const name = this.deps.config.STYLEKUBE_WORKER_SERVICE_ACCOUNT;
    try {
      await this.core.readNamespacedServiceAccount({ name, namespace });
    } catch (err) {
      if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
      await this.core
        .createNamespacedServiceAccount({
          namespace,
          body: {
            metadata: { name, labels: { [LABELS.name]: "stylekube", [LABELS.component]: "trainer" } },
            automountServiceAccountToken: false,
          },
        })
        .catch((e: unknown) => {
          if (!(e instanceof k8s.ApiException && e.code === 409)) throw e;
        });
    }
    this.serviceAccountsEnsured.add(namespace);
  }

  private async createPod(pod: k8s.V1Pod): Promise<void> {
    try {
      await this.core.createNamespacedPod({ namespace: pod.metadata!.namespace!, body: pod });
    } catch (err) {
      // Already there (cache lag or a retried create): the desired state holds.
      if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
    }
  }

  private async deletePods(pods: k8s.V1Pod[]): Promise<void> {
    await Promise.all(
      pods.map((p) =>
        this.core
          .deleteNamespacedPod({
            name: p.metadata!.name!,
            namespace: p.metadata!.namespace!,
            gracePeriodSeconds: 30,
          })
          .catch((err: unknown) => {
            if (!(err instanceof k8s.ApiException && err.code === 404)) throw err;
          }),
      ),
    );
  }

  private async writeStatus(raw: RawTraining, status: StyleTrainingStatus): Promise<void> {
    if (isDeepStrictEqual(raw.status ?? {}, status)) return;
    const { name, namespace } = raw.metadata as { name: string; namespace: string };
    // Update through the status subresource with the cached resourceVersion:
    // a conflict means the cache is behind, and the requeue retries with fresh data.
    await this.custom.replaceNamespacedCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: PLURAL,
      name,
      body: {
        apiVersion: API_VERSION,
        kind: "StyleTraining",
        metadata: raw.metadata,
        spec: raw.spec,
        status,
      },
    });
  }
}

type EventMetadata = { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
export type { StyleTraining, TrainingPhase };
