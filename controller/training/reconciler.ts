// Level-triggered reconciliation of one StyleTraining: from the object and
// its pods as they are now (never from the events that led here), the
// policies (./policies/) decide the next status and what to do; this class
// records that status first — a write guarded by the resourceVersion it was
// decided from — and only once the write succeeded announces it (events) and
// carries it out (create, delete and release pods, deploy, expire). A pass
// that lost a race to another writer therefore changes nothing, and the next
// pass decides again from fresh data: a worker failure is counted exactly
// once, and pods are never removed before the status says why.
//
// Lifecycle: Pending → Running → Succeeded, with gang restarts (Restarting)
// when any worker fails or disappears, Suspended while spec.suspend, and
// Failed on an invalid spec, an exhausted backoffLimit, an exceeded
// activeDeadline or a worker's permanent error (a missing input).
import * as k8s from "@kubernetes/client-node";
import { isDeepStrictEqual } from "node:util";
import {
  API_VERSION,
  GROUP,
  TrainingCondition,
  TrainingEventReason,
  TrainingReason,
  VERSION,
  validateStyleTraining,
  type StyleTraining,
  type StyleTrainingStatus,
} from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import type { ControllerConfig } from "../config.js";
import { ignoreConflict, ignoreNotFound } from "../kube/api-errors.js";
import { getCondition, setCondition, type ConditionUpdate } from "../kube/conditions.js";
import type { EventRecorder } from "../kube/events.js";
import type { Informer } from "../kube/informer.js";
import { OwnWrites } from "../kube/own-writes.js";
import { CREDS_KEY, mintJobCredentials } from "../nats/job-credentials.js";
import { isWorkerOf, trainingOwnerReference } from "./ownership.js";
import { decideTraining } from "./policies/decide.js";
import type { TrainingAction, TrainingEvent } from "./policies/decision.js";
import type { ProgressTracker } from "./progress-tracker.js";
import { describeWorkerPod } from "./worker-pod.js";
import { buildWorkerPod } from "./worker-pods.js";
import {
  APP,
  COMPONENTS,
  jobCredentialsSecretName,
  LABELS,
  trainingLabels,
  WORKER_FINALIZER,
} from "../../common/api/owned-objects.js";

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
/** While the StyleServer to deploy to does not exist, look again this often. */
const DEPLOY_RETRY_MS = 30_000;

export class TrainingReconciler {
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly now: () => Date;
  private readonly serviceAccountsEnsured = new Set<string>();
  private readonly written = new OwnWrites<RawTraining>();

  constructor(private readonly deps: TrainingReconcilerDeps) {
    this.core = deps.kc.makeApiClient(k8s.CoreV1Api);
    this.custom = deps.kc.makeApiClient(k8s.CustomObjectsApi);
    this.now = deps.now ?? (() => new Date());
  }

  async reconcile(key: string): Promise<ReconcileResult> {
    const [namespace = "", name = ""] = key.split("/");
    const raw = this.written.read(key, this.deps.trainings.get(key));
    const labelled = this.podsLabelled(namespace, name);
    if (!raw) {
      // Deleted: ownerReferences let the garbage collector remove the pods;
      // their tracking finalizers must not hold it up.
      this.deps.progress.forget(key);
      await this.releasePods(labelled);
      return {};
    }
    const owned = labelled.filter((p) => isWorkerOf(p, raw));
    // Pods of an earlier object of the same name: theirs is gone, nothing to record.
    await this.releasePods(labelled.filter((p) => !owned.includes(p)));
    if (raw.metadata.deletionTimestamp) {
      await this.releasePods(owned);
      return {};
    }

    const validation = validateStyleTraining({
      ...raw,
      apiVersion: API_VERSION,
      kind: "StyleTraining",
      status: undefined,
    });
    const decision = decideTraining(
      {
        status: raw.status ?? {},
        generation: raw.metadata.generation,
        pods: owned.map(describeWorkerPod),
        now: this.now(),
        progress: (attempt, globalBatch) => this.deps.progress.summary(key, attempt, globalBatch),
      },
      validation,
    );
    // 1. Record. A conflict throws: nothing below happens, and the retry decides again.
    const recorded = await this.writeStatus(key, raw, decision.status);
    // 2. Announce.
    for (const e of decision.events) await this.announce(recorded, e);
    // 3. Act.
    const training = validation.ok ? validation.value : undefined;
    const more = await this.perform(key, recorded, training, owned, decision.actions);
    const requeue = [decision.requeueAfterMs, more].filter((ms): ms is number => ms !== undefined);
    return requeue.length > 0 ? { requeueAfterMs: Math.min(...requeue) } : {};
  }

  private announce(training: RawTraining, e: TrainingEvent): Promise<void> {
    return this.deps.events.record(
      { apiVersion: API_VERSION, kind: "StyleTraining", metadata: training.metadata as EventMetadata },
      e.type,
      e.reason,
      e.message,
    );
  }

  /** Carry out recorded decisions; returns a requeue delay when one asks for it. */
  private async perform(
    key: string,
    recorded: RawTraining,
    training: StyleTraining | undefined,
    pods: k8s.V1Pod[],
    actions: readonly TrainingAction[],
  ): Promise<number | undefined> {
    const byName = new Map(pods.map((p) => [p.metadata!.name!, p]));
    const named = (names: string[]) => names.map((n) => byName.get(n)).filter((p): p is k8s.V1Pod => !!p);
    let requeue: number | undefined;
    for (const action of actions) {
      switch (action.kind) {
        case "deletePods":
          await this.deletePods(named(action.names));
          break;
        case "releasePods":
          await this.releasePods(named(action.names));
          break;
        case "createWorkers":
          if (training) await this.createWorkers(training, action.attempt, action.ranks);
          break;
        case "deploy":
          if (training) requeue = await this.deploy(key, recorded, training);
          break;
        case "deleteTraining":
          await this.deleteTraining(recorded);
          break;
      }
    }
    return requeue;
  }

  private async createWorkers(training: StyleTraining, attempt: number, ranks: number[]): Promise<void> {
    await this.ensureWorkerServiceAccount(training.metadata.namespace!);
    const natsCreds = await this.ensureJobCredentials(training);
    for (const rank of ranks) {
      await this.createPod(buildWorkerPod(training, attempt, rank, this.deps.config, natsCreds));
    }
  }

  /**
   * Auto-deploy: put the finished model on the named StyleServer. The server's
   * Deployment then rolls one replica at a time, each ready only once it has
   * loaded every style, so a retrained style replaces the old without an outage.
   * The outcome is recorded as the Deployed condition, announced once it changed.
   */
  private async deploy(
    key: string,
    recorded: RawTraining,
    training: StyleTraining,
  ): Promise<number | undefined> {
    const serving = training.spec.serving!;
    const name = training.metadata.name!;
    const namespace = training.metadata.namespace!;
    const style = serving.style ?? name;
    const modelURI = recorded.status?.modelURI;
    let outcome: ConditionUpdate;
    let event: TrainingEvent;
    try {
      await this.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace,
          plural: "styleservers",
          name: serving.server,
          body: { spec: { styles: { [style]: { modelURI, trainedBy: name } } } },
        },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      const message = `style ${style} on StyleServer ${serving.server}`;
      outcome = {
        type: TrainingCondition.Deployed,
        status: "True",
        reason: TrainingReason.AddedToServer,
        message,
      };
      event = { type: "Normal", reason: TrainingEventReason.Deployed, message: `deployed as ${message}` };
    } catch (err) {
      ignoreNotFound(err);
      const message = `StyleServer ${serving.server} not found in ${namespace}; will deploy when it exists`;
      outcome = {
        type: TrainingCondition.Deployed,
        status: "False",
        reason: TrainingReason.ServerNotFound,
        message,
      };
      event = { type: "Warning", reason: TrainingReason.ServerNotFound, message };
    }
    const before = getCondition(recorded.status?.conditions, TrainingCondition.Deployed);
    const status = structuredClone(recorded.status ?? {});
    status.conditions = setCondition(status.conditions, outcome, recorded.metadata.generation, this.now());
    const after = await this.writeStatus(key, recorded, status);
    if (before?.status !== outcome.status || before.reason !== outcome.reason)
      await this.announce(after, event);
    return outcome.status === "True" ? undefined : DEPLOY_RETRY_MS;
  }

  private async deleteTraining(training: RawTraining): Promise<void> {
    const { name, namespace } = training.metadata as { name: string; namespace: string };
    await this.custom
      .deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        name,
        propagationPolicy: "Background",
      })
      .catch(ignoreNotFound);
  }

  /** Worker pods labelled with this training's name, whoever owns them, including those being deleted. */
  private podsLabelled(namespace: string, name: string): k8s.V1Pod[] {
    return this.deps.pods
      .list()
      .filter((p) => p.metadata?.namespace === namespace && p.metadata?.labels?.[LABELS.training] === name);
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
            labels: trainingLabels(name),
            ownerReferences: [trainingOwnerReference(name, uid)],
          },
          type: "Opaque",
          stringData: { [CREDS_KEY]: creds },
        },
      });
    } catch (err) {
      // Minted on an earlier reconcile: the first one stays (the operator cannot read Secrets, by design).
      ignoreConflict(err);
    }
    return secretName;
  }

  /** Workers run as a ServiceAccount with no API access; it must exist in their namespace. */
  private async ensureWorkerServiceAccount(namespace: string): Promise<void> {
    if (this.serviceAccountsEnsured.has(namespace)) return;
    const name = this.deps.config.STYLEKUBE_WORKER_SERVICE_ACCOUNT;
    const existing = await this.core.readNamespacedServiceAccount({ name, namespace }).catch(ignoreNotFound);
    if (!existing) {
      await this.core
        .createNamespacedServiceAccount({
          namespace,
          body: {
            metadata: { name, labels: { [LABELS.name]: APP, [LABELS.component]: COMPONENTS.trainer } },
            automountServiceAccountToken: false,
          },
        })
        .catch(ignoreConflict);
    }
    this.serviceAccountsEnsured.add(namespace);
  }

  private async createPod(pod: k8s.V1Pod): Promise<void> {
    // Already there (cache lag or a retried create): the desired state holds.
    await this.core
      .createNamespacedPod({ namespace: pod.metadata!.namespace!, body: pod })
      .catch(ignoreConflict);
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
          .catch(ignoreNotFound),
      ),
    );
  }

  /** Remove the tracking finalizer (only ever ours: a strategic merge patch that deletes one list entry). */
  private async releasePods(pods: k8s.V1Pod[]): Promise<void> {
    await Promise.all(
      pods
        .filter((p) => p.metadata?.finalizers?.includes(WORKER_FINALIZER))
        .map((p) =>
          this.core
            .patchNamespacedPod(
              {
                name: p.metadata!.name!,
                namespace: p.metadata!.namespace!,
                body: { metadata: { "$deleteFromPrimitiveList/finalizers": [WORKER_FINALIZER] } },
              },
              k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
            )
            .catch(ignoreNotFound),
        ),
    );
  }

  /**
   * Replace the status through the status subresource with the resourceVersion
   * it was decided from: a conflict (409) means someone wrote in between, and
   * the retry decides again from fresh data. Returns the object as written
   * (remembered, so the next pass reads its own write even before the watch
   * delivers it), or the input when nothing changed.
   */
  private async writeStatus(
    key: string,
    raw: RawTraining,
    status: StyleTrainingStatus,
  ): Promise<RawTraining> {
    if (isDeepStrictEqual(raw.status ?? {}, status)) return raw;
    const { name, namespace } = raw.metadata as { name: string; namespace: string };
    const written = (await this.custom.replaceNamespacedCustomObjectStatus({
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
    })) as RawTraining;
    this.written.remember(key, written);
    return written;
  }
}

type EventMetadata = { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
