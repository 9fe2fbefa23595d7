// StyleServer (stylekube.io/v1alpha1): a scalable Deployment of the model
// server with a set of styles. Has the scale subresource, so `kubectl scale`
// and a HorizontalPodAutoscaler work on it directly.
import { z } from "zod";
import {
  conditions,
  described,
  DNS_LABEL_PATTERN,
  DNS_LABEL_REGEXP,
  quantity,
  servingEngine,
  StorageSchema,
  uri,
} from "./fields.js";
import { ServerPodTemplateSchema } from "./pod-template.js";
import { API_VERSION, ObjectMetaSchema } from "./style-training.js";

export const AutoscalingSchema = described(
  z
    .object({
      minReplicas: z.int().min(1).default(1).describe("Fewest replicas the autoscaler keeps."),
      maxReplicas: z.int().min(1).max(1000).describe("Most replicas the autoscaler may run."),
      targetCPUUtilizationPercentage: z
        .int()
        .min(1)
        .max(100)
        .optional()
        .describe("Scale to keep average CPU use at this percentage of the request."),
      targetConcurrency: z
        .int()
        .min(1)
        .optional()
        .describe(
          "Scale to keep in-flight requests per replica at this number (needs a custom-metrics adapter).",
        ),
    })
    .strict(),
  "Create a HorizontalPodAutoscaler; spec.replicas is then owned by it.",
  [
    {
      rule: "self.minReplicas <= self.maxReplicas",
      message: "minReplicas must be less than or equal to maxReplicas",
      check: (v: { minReplicas?: number; maxReplicas: number }) => (v.minReplicas ?? 1) <= v.maxReplicas,
    },
    {
      rule: "has(self.targetCPUUtilizationPercentage) || has(self.targetConcurrency)",
      message: "set targetCPUUtilizationPercentage or targetConcurrency",
      check: (v: { targetCPUUtilizationPercentage?: number; targetConcurrency?: number }) =>
        v.targetCPUUtilizationPercentage !== undefined || v.targetConcurrency !== undefined,
    },
  ],
);

export const ServedStyleSchema = z
  .object({
    modelURI: uri(
      "The exported model (its model.json), as written to a StyleTraining's output.",
      ["s3", "file", "http"],
      "a model URI",
      "s3://bucket/models/mosaic/model/ or file:///models/mosaic/model/",
    ),
    trainedBy: z
      .string()
      .max(253)
      .optional()
      .describe("StyleTraining that produced the model; set by the operator on auto-deploy."),
  })
  .strict();

export const StyleServerSpecSchema = z
  .object({
    replicas: z
      .int()
      .min(0)
      .default(1)
      .describe(
        "Server replicas. Changed by `kubectl scale` or the autoscaler through the scale subresource.",
      ),
    autoscaling: AutoscalingSchema.optional(),
    engine: servingEngine(
      "Inference engine of the servers; auto tries webgpu (a hardware adapter), onnxruntime (CPU), tensorflow, wasm, cpu in that order and reports the one it chose in status.engine and the stylekube_engine_info metric.",
    ),
    resources: z
      .object({
        gpu: z.int().min(0).max(16).default(0).describe("GPUs per replica; 0 serves on CPU."),
        gpuResourceName: z
          .string()
          .max(253)
          .default("nvidia.com/gpu")
          .describe("Extended resource name of the GPU."),
        cpu: quantity("CPU request per replica.").default("2"),
        memory: quantity("Memory request and limit per replica.").default("2Gi"),
        ephemeralStorage: quantity(
          "Ephemeral storage request and limit per replica, and the size limit of its /tmp.",
        ).default("1Gi"),
      })
      .strict()
      .prefault({})
      .describe("Resources of each server pod."),
    styles: described(
      z.record(z.string(), ServedStyleSchema).default({}),
      "Styles served, by name: POST /v1/styles/{name}:stylize. The operator adds finished StyleTrainings here.",
      [
        {
          rule: `self.all(k, k.matches(r'${DNS_LABEL_PATTERN}'))`,
          message: "style names must be lowercase RFC 1123 labels: a-z, 0-9 and '-'",
          check: (v: Record<string, unknown>) => Object.keys(v).every((k) => DNS_LABEL_REGEXP.test(k)),
        },
      ],
    ).meta({ maxProperties: 256 }),
    storage: StorageSchema.optional(),
    image: z
      .string()
      .max(1024)
      .optional()
      .describe("Server container image; defaults to the operator's serving image."),
    template: ServerPodTemplateSchema.optional(),
  })
  .strict()
  .describe("How many servers, on which engine, serving which styles.");

export const StyleServerStatusSchema = z
  .object({
    replicas: z.int().min(0).optional().describe("Server pods created (the scale subresource's status)."),
    readyReplicas: z.int().min(0).optional().describe("Server pods ready: every configured style loaded."),
    selector: z.string().optional().describe("Label selector of the server pods, for the HPA."),
    loadedStyles: z.array(z.string()).optional().describe("Styles every ready replica has loaded."),
    engine: z
      .string()
      .max(256)
      .optional()
      .describe(
        "Inference engine the ready replicas chose (spec.engine auto resolved), read from each replica's GET /v2: e.g. onnxruntime/cpu (engine/provider) or wasm; several, comma-separated, while replicas differ.",
      ),
    conditions: conditions("Available, Progressing, ResourcesOwned, as metav1.Conditions.").optional(),
    observedGeneration: z.int().min(0).optional().describe("The .metadata.generation this status reflects."),
  })
  .strict()
  .describe("Observed state, written by the operator through the status subresource.");

export const StyleServerSchema = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal("StyleServer"),
    metadata: ObjectMetaSchema,
    spec: StyleServerSpecSchema,
    status: StyleServerStatusSchema.optional(),
  })
  .strict();

export type StyleServerInput = z.input<typeof StyleServerSchema>;
export type StyleServer = z.infer<typeof StyleServerSchema>;
export type StyleServerSpec = z.infer<typeof StyleServerSpecSchema>;
export type StyleServerStatus = z.infer<typeof StyleServerStatusSchema>;
