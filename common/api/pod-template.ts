// spec.template of a StyleTraining: what a cluster needs on every worker pod
// that the operator cannot guess — labels and annotations its policies
// require, where GPU nodes are (nodeSelector, tolerations for tainted pools,
// affinity), a PriorityClass, extra environment and volumes. Merged into
// every worker pod; the operator's own labels, env and volumes win and may
// not be overridden, which these rules say up front (zod and CEL alike).
import { z } from "zod";
import { described } from "./fields.js";
import { RESERVED_LABEL_PREFIX, RESERVED_LABELS } from "./owned-objects.js";

/** Env names the operator sets: the worker contract (STYLEKUBE_*) and storage credentials (AWS_*). */
export const RESERVED_ENV_PREFIXES = ["STYLEKUBE_", "AWS_"];
/** Volume names the operator mounts into the worker. */
export const RESERVED_VOLUMES = ["tmp", "nats-creds"];

const ENV_NAME = "^[-._a-zA-Z][-._a-zA-Z0-9]*$";
const celList = (items: readonly string[]) => `[${items.map((i) => `'${i}'`).join(", ")}]`;

const stringMap = (description: string, what: string, rules: Parameters<typeof described>[2] = []) =>
  described(z.record(z.string(), z.string()), description, rules)
    .meta({ maxProperties: 64 })
    .optional()
    .describe(`${description} At most 64 ${what}.`);

/** An object Kubernetes validates itself when the pod is created (affinity, volume sources). */
const kubernetesObject = (description: string) =>
  z.looseObject({}).meta({ "x-kubernetes-preserve-unknown-fields": true }).describe(description);

export const TolerationSchema = z
  .object({
    key: z
      .string()
      .max(317)
      .optional()
      .describe("Taint key; empty with operator Exists matches every taint."),
    operator: z.enum(["Exists", "Equal"]).default("Equal").describe("Exists or Equal."),
    value: z.string().max(63).optional().describe("Taint value, for operator Equal."),
    effect: z
      .enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])
      .optional()
      .describe("Taint effect to tolerate; empty tolerates all effects."),
    tolerationSeconds: z
      .int()
      .min(0)
      .optional()
      .describe("For NoExecute: how long the pod stays bound after the taint appears."),
  })
  .strict()
  .describe("A pod toleration (core/v1 Toleration).");

export const EnvVarSchema = z
  .object({
    name: z.string().min(1).max(256).regex(new RegExp(ENV_NAME)).describe("Variable name."),
    value: z.string().max(32_768).optional().describe("Literal value."),
    valueFrom: kubernetesObject(
      "A core/v1 EnvVarSource: secretKeyRef, configMapKeyRef, fieldRef, resourceFieldRef.",
    ).optional(),
  })
  .strict()
  .describe("An extra environment variable of the worker container (core/v1 EnvVar).");

export const VolumeSchema = described(
  z.looseObject({
    name: z
      .string()
      .min(1)
      .max(63)
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      .describe("Volume name, referenced by volumeMounts."),
  }),
  "A core/v1 Volume: a name and one volume source (persistentVolumeClaim, configMap, secret, emptyDir, …).",
).meta({ "x-kubernetes-preserve-unknown-fields": true });

export const VolumeMountSchema = z
  .object({
    name: z.string().min(1).max(63).describe("Name of a volume in template.spec.volumes."),
    mountPath: z.string().min(1).max(1024).regex(/^\//).describe("Absolute path in the worker container."),
    readOnly: z.boolean().optional().describe("Mount read-only."),
    subPath: z.string().max(1024).optional().describe("Mount only this path of the volume."),
  })
  .strict()
  .describe("Where a template volume appears in the worker container (core/v1 VolumeMount).");

const priorityClassName = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/)
  .optional();

/** Where a pod may run, shared by worker pods and model-server pods. */
function placementFields(pods: string) {
  return {
    nodeSelector: stringMap(`Node labels the node of ${pods} must have, e.g. a GPU node pool's.`, "labels"),
    tolerations: z
      .array(TolerationSchema)
      .max(32)
      .optional()
      .describe(`Tolerations of ${pods}, e.g. for a tainted GPU node pool.`),
    affinity: kubernetesObject(
      `A core/v1 Affinity of ${pods}: nodeAffinity, podAffinity, podAntiAffinity.`,
    ).optional(),
    priorityClassName: priorityClassName.describe(`PriorityClass of ${pods}.`),
  };
}

export const WorkerPodSpecTemplateSchema = described(
  z
    .object({
      ...placementFields("worker pods"),
      env: described(
        z.array(EnvVarSchema).max(64),
        "Extra environment of the worker container, after the operator's.",
        [
          {
            rule: `self.all(e, !${celList(RESERVED_ENV_PREFIXES)}.exists(p, e.name.startsWith(p)))`,
            message: `names starting with ${RESERVED_ENV_PREFIXES.join(" or ")} are set by the operator; choose another name`,
            check: (v: { name: string }[]) =>
              v.every((e) => !RESERVED_ENV_PREFIXES.some((p) => e.name.startsWith(p))),
          },
        ],
      ).optional(),
      volumes: described(z.array(VolumeSchema).max(32), "Extra volumes of the worker pod.", [
        {
          rule: `self.all(v, !(v.name in ${celList(RESERVED_VOLUMES)}))`,
          message: `volume names ${RESERVED_VOLUMES.join(" and ")} are used by the operator; choose another name`,
          check: (v: { name: string }[]) => v.every((x) => !RESERVED_VOLUMES.includes(x.name)),
        },
      ]).optional(),
      volumeMounts: z
        .array(VolumeMountSchema)
        .max(32)
        .optional()
        .describe("Where the extra volumes are mounted in the worker container."),
    })
    .strict(),
  "Pod-level settings merged into every worker pod.",
  [
    {
      rule: "!has(self.volumeMounts) || self.volumeMounts.all(m, has(self.volumes) && self.volumes.exists(v, v.name == m.name))",
      message: "every volumeMounts[].name must be the name of one of template.spec.volumes",
      check: (v: { volumes?: { name: string }[]; volumeMounts?: { name: string }[] }) =>
        (v.volumeMounts ?? []).every((m) => (v.volumes ?? []).some((x) => x.name === m.name)),
    },
  ],
);

/** Labels and annotations added to every pod the operator builds from a template. */
function templateMetadata(pod: string) {
  return z
    .object({
      labels: stringMap(`Labels added to every ${pod}.`, "labels", [
        {
          rule: `self.all(k, !k.startsWith('${RESERVED_LABEL_PREFIX}') && !(k in ${celList(RESERVED_LABELS)}))`,
          message: `label keys under ${RESERVED_LABEL_PREFIX} and ${RESERVED_LABELS.join(", ")} are set by the operator; choose another key`,
          check: (v: Record<string, string>) =>
            Object.keys(v).every((k) => !k.startsWith(RESERVED_LABEL_PREFIX) && !RESERVED_LABELS.includes(k)),
        },
      ]),
      annotations: stringMap(`Annotations added to every ${pod}.`, "annotations"),
    })
    .strict()
    .optional()
    .describe(`Labels and annotations of every ${pod}.`);
}

export const WorkerPodTemplateSchema = z
  .object({
    metadata: templateMetadata("worker pod"),
    spec: WorkerPodSpecTemplateSchema.optional(),
  })
  .strict()
  .describe(
    "Merged into every worker pod: labels, annotations, nodeSelector, tolerations, affinity, priorityClassName, extra env and volumes — so GPU node pools with taints and cluster policies work.",
  );

export type WorkerPodTemplate = z.infer<typeof WorkerPodTemplateSchema>;

export const ServerPodSpecTemplateSchema = z
  .object({
    ...placementFields("model-server pods"),
    topologySpreadConstraints: z
      .array(
        kubernetesObject(
          "A core/v1 TopologySpreadConstraint; its labelSelector may select the server's pods by stylekube.io/server.",
        ),
      )
      .max(8)
      .optional()
      .describe(
        "How the server pods spread over zones or nodes. Default: at most one more pod on any node than on another, where the scheduler can (whenUnsatisfiable ScheduleAnyway).",
      ),
  })
  .strict()
  .describe("Pod-level settings merged into every model-server pod.");

export const ServerPodTemplateSchema = z
  .object({
    metadata: templateMetadata("model-server pod"),
    spec: ServerPodSpecTemplateSchema.optional(),
  })
  .strict()
  .describe(
    "Merged into every model-server pod: labels, annotations, nodeSelector, tolerations, affinity, priorityClassName, topologySpreadConstraints.",
  );

export type ServerPodTemplate = z.infer<typeof ServerPodTemplateSchema>;
