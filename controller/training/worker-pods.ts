// The pod of one worker of one attempt: the env contract, resources, owner
// reference, labels and a locked-down security context.
import type * as k8s from "@kubernetes/client-node";
import type { StyleTraining, StyleTrainingSpec } from "../../common/api/index.js";
import { quantityValue } from "../../common/api/fields.js";
import { WORKER_ENV, wasmThreadsFor, workerEnvVars } from "../../common/worker-env.js";
import { POD_TERMINATION_MESSAGE_PATH } from "../../common/worker-exit.js";
import type { ControllerConfig } from "../config.js";
import { containerSecurityContext, podSecurityContext, TMP_MOUNT, tmpVolume } from "../pod-security.js";
import { gpuRuntimeClass, gpuTolerations, podImage } from "../gpu-pods.js";
import { CREDS_KEY, CREDS_MOUNT } from "../nats/job-credentials.js";
import { trainingOwnerReference } from "./ownership.js";
import { WORKER_FINALIZER, workerLabels, workerPodName } from "../../common/api/owned-objects.js";

/** The spec with the operator's default VGG-16 weights filled in where it names none and is not random. */
export function withDefaultLossNetwork(
  spec: StyleTrainingSpec,
  defaultWeights: string | undefined,
): StyleTrainingSpec {
  const loss = spec.lossNetwork;
  if (defaultWeights === undefined || loss.weights !== undefined || loss.random) return spec;
  return { ...spec, lossNetwork: { ...loss, weights: defaultWeights } };
}

export function buildWorkerPod(
  training: StyleTraining,
  attempt: number,
  rank: number,
  config: ControllerConfig,
  /** Secret with this job's own NATS credentials (see controller/nats/job-credentials.ts). */
  natsCredsSecret?: string,
): k8s.V1Pod {
  const { name, namespace, uid } = training.metadata as { name: string; namespace: string; uid: string };
  const spec = training.spec;
  const storage = spec.storage;
  const vars = workerEnvVars({
    jobId: uid,
    namespace,
    name,
    attempt,
    rank,
    worldSize: spec.workers,
    spec: withDefaultLossNetwork(spec, config.STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS),
    natsUrl: config.STYLEKUBE_NATS_URL,
    s3Endpoint: storage?.endpoint ?? config.STYLEKUBE_S3_ENDPOINT,
    s3ForcePathStyle: storage?.forcePathStyle ?? config.STYLEKUBE_S3_FORCE_PATH_STYLE,
    region: storage?.region ?? config.STYLEKUBE_S3_REGION,
    // The pod's CPU limit, not the node's core count (which Node reports inside a container).
    wasmThreads: wasmThreadsFor(quantityValue(spec.resources.cpu)),
    // The operator reads it from the pod's terminated state (a permanent error names its field and URI there).
    terminationMessagePath: POD_TERMINATION_MESSAGE_PATH,
  });
  const env: k8s.V1EnvVar[] = Object.entries(vars).map(([n, value]) => ({ name: n, value }));

  const storageSecret = storage?.secretName ?? config.STYLEKUBE_STORAGE_SECRET;
  if (storageSecret) {
    env.push(
      {
        name: WORKER_ENV.accessKeyId,
        valueFrom: { secretKeyRef: { name: storageSecret, key: "AWS_ACCESS_KEY_ID" } },
      },
      {
        name: WORKER_ENV.secretAccessKey,
        valueFrom: { secretKeyRef: { name: storageSecret, key: "AWS_SECRET_ACCESS_KEY" } },
      },
      {
        name: "AWS_SESSION_TOKEN",
        valueFrom: { secretKeyRef: { name: storageSecret, key: "AWS_SESSION_TOKEN", optional: true } },
      },
    );
  }
  if (natsCredsSecret) {
    env.push({ name: WORKER_ENV.natsCredsFile, value: `${CREDS_MOUNT}/${CREDS_KEY}` });
  } else if (config.STYLEKUBE_NATS_SECRET) {
    const secret = config.STYLEKUBE_NATS_SECRET;
    for (const [envName, key] of [
      [WORKER_ENV.natsToken, "token"],
      [WORKER_ENV.natsUser, "user"],
      [WORKER_ENV.natsPassword, "password"],
    ] as const) {
      env.push({ name: envName, valueFrom: { secretKeyRef: { name: secret, key, optional: true } } });
    }
  }

  const template = spec.template;
  // After the operator's: the spec's validation keeps them from reusing its names.
  env.push(...((template?.spec?.env ?? []) as k8s.V1EnvVar[]));

  const res = spec.resources;
  const tolerations = [
    ...gpuTolerations(res),
    ...((template?.spec?.tolerations ?? []) as k8s.V1Toleration[]),
  ];
  const quantities: Record<string, string> = {
    cpu: res.cpu,
    memory: res.memory,
    "ephemeral-storage": res.ephemeralStorage,
  };
  if (res.gpu > 0) quantities[res.gpuResourceName] = String(res.gpu);

  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: workerPodName(name, attempt, rank),
      namespace,
      labels: {
        ...template?.metadata?.labels,
        ...workerLabels(name, attempt, rank),
      },
      ...(template?.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [trainingOwnerReference(name, uid)],
      finalizers: [WORKER_FINALIZER],
    },
    spec: {
      // The operator restarts the whole gang; a kubelet restart of one worker
      // would rejoin a collective the others have already abandoned.
      restartPolicy: "Never",
      serviceAccountName: config.STYLEKUBE_WORKER_SERVICE_ACCOUNT,
      automountServiceAccountToken: false,
      hostname: `w${rank}`,
      securityContext: podSecurityContext(config),
      containers: [
        {
          name: "worker",
          image: podImage(res, spec.image, {
            plain: config.STYLEKUBE_TRAINER_IMAGE,
            cuda: config.STYLEKUBE_TRAINER_CUDA_IMAGE,
          }),
          args: ["worker"],
          env,
          terminationMessagePath: POD_TERMINATION_MESSAGE_PATH,
          // A worker killed before it could write one still says why (its last log lines).
          terminationMessagePolicy: "FallbackToLogsOnError",
          resources: { requests: quantities, limits: quantities },
          securityContext: containerSecurityContext(),
          volumeMounts: [
            TMP_MOUNT,
            ...(natsCredsSecret ? [{ name: "nats-creds", mountPath: CREDS_MOUNT, readOnly: true }] : []),
            ...(template?.spec?.volumeMounts ?? []),
          ],
        },
      ],
      volumes: [
        tmpVolume(res.ephemeralStorage),
        ...(natsCredsSecret
          ? [{ name: "nats-creds", secret: { secretName: natsCredsSecret, defaultMode: 0o440 } }]
          : []),
        ...((template?.spec?.volumes ?? []) as k8s.V1Volume[]),
      ],
      tolerations: tolerations.length > 0 ? tolerations : undefined,
      nodeSelector: template?.spec?.nodeSelector,
      affinity: template?.spec?.affinity as k8s.V1Affinity | undefined,
      priorityClassName: template?.spec?.priorityClassName,
      runtimeClassName: gpuRuntimeClass(res, config.STYLEKUBE_GPU_RUNTIME_CLASS),
    },
  };
}
