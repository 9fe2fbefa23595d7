// What the StyleTraining policies decide from what they observe. Inputs: the
// validated spec, the status as last written, the worker pods (as summaries)
// and the clock. Output: the next status, the events that announce its
// transitions and the actions that carry it out. The reconciler writes the
// status first (guarded by its resourceVersion) and only when that write
// succeeded emits the events and performs the actions — so a decision that
// lost a race is neither announced nor acted on, and a worker failure can
// neither vanish nor be counted twice.
import type {
  StyleTrainingSpec,
  StyleTrainingStatus,
  TrainingConditionType,
  TrainingEventReasonType,
  TrainingReasonType,
} from "../../../common/api/index.js";
import { DecisionRecord, type DecisionEvent, type ObservedObject } from "../../kube/decision-record.js";
import type { WorkerPod } from "../worker-pod.js";

/** What every policy sees, valid spec or not. */
export interface ObservedTraining extends ObservedObject<StyleTrainingStatus> {
  /** Worker pods owned by this training, including those being deleted. */
  pods: readonly WorkerPod[];
}

export interface TrainingFacts extends ObservedTraining {
  spec: StyleTrainingSpec;
  /** Progress heard from the workers of an attempt, if any. */
  progress?: (
    attempt: number,
    globalBatch: number,
  ) => Pick<StyleTrainingStatus, "progress" | "lastCheckpoint"> | undefined;
}

export type TrainingEvent = DecisionEvent<TrainingEventReasonType>;

export type TrainingAction =
  /** Create these ranks of this attempt (names are deterministic, so a repeat gets 409). */
  | { kind: "createWorkers"; attempt: number; ranks: number[] }
  /** Delete these pods (gracefully). */
  | { kind: "deletePods"; names: string[] }
  /** Remove the tracking finalizer: their outcome is recorded. */
  | { kind: "releasePods"; names: string[] }
  /** Put the model on spec.serving's StyleServer. */
  | { kind: "deploy" }
  /** ttlSecondsAfterFinished has passed: delete the StyleTraining. */
  | { kind: "deleteTraining" };

/** The StyleTraining's decision: the shared record, with actions that skip empty work and pod helpers. */
export class Decision extends DecisionRecord<
  StyleTrainingStatus,
  TrainingAction,
  TrainingConditionType,
  TrainingReasonType,
  TrainingEventReasonType
> {
  override act(action: TrainingAction): void {
    const empty =
      (action.kind === "createWorkers" && action.ranks.length === 0) ||
      ((action.kind === "deletePods" || action.kind === "releasePods") && action.names.length === 0);
    if (!empty) super.act(action);
  }

  /** Remove pods whose outcome no longer matters: delete the live ones and release every one. */
  retire(pods: readonly WorkerPod[]): void {
    this.act({ kind: "deletePods", names: pods.filter((p) => !p.deleting).map((p) => p.name) });
    this.release(pods);
  }

  /** Release pods' tracking finalizers (their outcome is in the status being written). */
  release(pods: readonly WorkerPod[]): void {
    this.act({ kind: "releasePods", names: pods.filter((p) => p.tracked).map((p) => p.name) });
  }
}
