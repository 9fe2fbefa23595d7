// How the operator marks and names the objects it creates for a StyleTraining
// (worker pods, their NATS credentials Secret) and a StyleServer (Deployment,
// Service, HPA). Its informers select by these labels, its users select by
// them too (`kubectl get pods -l stylekube.io/training=mosaic`), and the
// spec.template rules forbid overriding them: every key, value and name is
// spelled here once.

export const LABELS = {
  training: "stylekube.io/training",
  attempt: "stylekube.io/attempt",
  rank: "stylekube.io/rank",
  server: "stylekube.io/server",
  name: "app.kubernetes.io/name",
  component: "app.kubernetes.io/component",
  managedBy: "app.kubernetes.io/managed-by",
  partOf: "app.kubernetes.io/part-of",
} as const;

/** app.kubernetes.io/name, managed-by and part-of. */
export const APP = "stylekube";
export const COMPONENTS = { trainer: "trainer", server: "server" } as const;

/** Label keys under this prefix are the operator's own; spec.template may not set them. */
export const RESERVED_LABEL_PREFIX = "stylekube.io/";
/** The well-known label keys the operator sets on worker pods (and selects by). */
export const RESERVED_LABELS: readonly string[] = [LABELS.name, LABELS.component, LABELS.managedBy];

/**
 * On every worker pod, like a Job's tracking finalizer: a pod that fails, is
 * deleted or evicted cannot disappear before the operator has recorded its
 * outcome in the training's status; the operator removes it right after.
 */
export const WORKER_FINALIZER = "stylekube.io/worker-tracking";

/** A label selector string (`k=v,k=v`) matching every label given. */
export function labelSelector(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(",");
}

/** What every object the operator creates for a StyleTraining carries. */
export function trainingLabels(training: string): Record<string, string> {
  return { [LABELS.name]: APP, [LABELS.training]: training };
}

export function workerLabels(training: string, attempt: number, rank: number): Record<string, string> {
  return {
    [LABELS.name]: APP,
    [LABELS.component]: COMPONENTS.trainer,
    [LABELS.managedBy]: APP,
    [LABELS.training]: training,
    [LABELS.attempt]: String(attempt),
    [LABELS.rank]: String(rank),
  };
}

/** Every worker pod of every training: what the operator's pod informer watches. */
export const WORKER_SELECTOR = labelSelector({
  [LABELS.component]: COMPONENTS.trainer,
  [LABELS.managedBy]: APP,
});

/** The Deployment, Service and pods of one StyleServer. */
export function serverLabels(server: string): Record<string, string> {
  return {
    [LABELS.name]: APP,
    [LABELS.component]: COMPONENTS.server,
    [LABELS.managedBy]: APP,
    [LABELS.server]: server,
  };
}

/** The pods of one StyleServer: its scale subresource's status.selector. */
export function serverSelector(server: string): string {
  return labelSelector(serverLabels(server));
}

/** Every model-server Deployment: what the operator's Deployment informer watches. */
export const SERVER_DEPLOYMENT_SELECTOR = labelSelector({
  [LABELS.component]: COMPONENTS.server,
  [LABELS.managedBy]: APP,
});

export function workerPodName(training: string, attempt: number, rank: number): string {
  // Deterministic names make creation idempotent: a repeated create after a
  // lost response or a stale cache gets 409 instead of a duplicate worker.
  return `${training.slice(0, 40)}-a${attempt}-w${rank}`;
}

/** The Deployment, Service and HPA of a StyleServer share this name. */
export function serverObjectName(server: string): string {
  return `${server}-server`;
}

/** The Secret holding a job's NATS credentials; the uid keeps a recreated training from reusing an old one. */
export function jobCredentialsSecretName(training: string, uid: string): string {
  return `${training.slice(0, 40)}-nats-${uid.slice(0, 8)}`;
}
