// Condition types and reasons of the stylekube.io/v1alpha1 kinds, as typed
// constants: the operator writes them, the dashboard, CLI and tests read
// them, and a typo becomes a compile error instead of a condition nobody
// matches. Reasons are CamelCase, as the API conventions ask.

/** Condition types of a StyleTraining (metav1.Condition semantics). */
export const TrainingCondition = {
  Created: "Created",
  Running: "Running",
  Restarting: "Restarting",
  Succeeded: "Succeeded",
  Failed: "Failed",
  Suspended: "Suspended",
  Deployed: "Deployed",
} as const;
export type TrainingConditionType = (typeof TrainingCondition)[keyof typeof TrainingCondition];

/** Reasons on a StyleTraining's conditions and events. */
export const TrainingReason = {
  /** Attempt 1's workers were created. */
  WorkersCreated: "WorkersCreated",
  /** Every worker of the current attempt is running and ready. */
  AllWorkersReady: "AllWorkersReady",
  /** Some worker of the current attempt is not (yet) running and ready. */
  WorkersNotReady: "WorkersNotReady",
  /** A worker of the current attempt failed, was deleted or evicted: the gang restarts. */
  WorkerFailed: "WorkerFailed",
  /** spec.workers changed: the gang restarts with the new world size (not a failure). */
  Rescaled: "Rescaled",
  /** Every worker exited 0. */
  Completed: "Completed",
  BackoffLimitExceeded: "BackoffLimitExceeded",
  /**
   * A worker exited with PERMANENT_FAILURE_EXIT_CODE (common/worker-exit.ts):
   * an input is missing or unreadable, or the spec cannot run. Failed at
   * once, without using backoffLimit (a Job's podFailurePolicy FailJob).
   */
  PermanentError: "PermanentError",
  DeadlineExceeded: "DeadlineExceeded",
  InvalidSpec: "InvalidSpec",
  SpecCorrected: "SpecCorrected",
  SpecSuspended: "SpecSuspended",
  Suspended: "Suspended",
  Resumed: "Resumed",
  AddedToServer: "AddedToServer",
  ServerNotFound: "ServerNotFound",
} as const;
export type TrainingReasonType = (typeof TrainingReason)[keyof typeof TrainingReason];

/** Event reasons of a StyleTraining that are not condition reasons. */
export const TrainingEventReason = {
  Created: "Created",
  Running: "Running",
  Succeeded: "Succeeded",
  Deployed: "Deployed",
  Expired: "Expired",
} as const;
export type TrainingEventReasonType =
  TrainingReasonType | (typeof TrainingEventReason)[keyof typeof TrainingEventReason];

/** Condition types of a StyleServer. */
export const ServerCondition = {
  Available: "Available",
  Progressing: "Progressing",
  /** Every object the server needs is controlled by it: none of their names is taken by another object. */
  ResourcesOwned: "ResourcesOwned",
} as const;
export type ServerConditionType = (typeof ServerCondition)[keyof typeof ServerCondition];

/** Reasons on a StyleServer's conditions. */
export const ServerReason = {
  InvalidSpec: "InvalidSpec",
  ReplicasReady: "ReplicasReady",
  NoReplicasReady: "NoReplicasReady",
  RolledOut: "RolledOut",
  RollingOut: "RollingOut",
  AllResourcesOwned: "AllResourcesOwned",
  /** An object of a name the server needs exists and is not controlled by it: left alone. */
  ResourceNotOwned: "ResourceNotOwned",
} as const;
export type ServerReasonType = (typeof ServerReason)[keyof typeof ServerReason];

/** Event reasons of a StyleServer that are not condition reasons. */
export const ServerEventReason = {
  /** An object of a name the server needs exists and is not controlled by it (sample-controller's ErrResourceExists). */
  ResourceExists: "ResourceExists",
} as const;
export type ServerEventReasonType =
  ServerReasonType | (typeof ServerEventReason)[keyof typeof ServerEventReason];
