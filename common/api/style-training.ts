// StyleTraining (stylekube.io/v1alpha1): one fast style-transfer network,
// trained by N data-parallel workers. This zod schema is the single source of
// the TypeScript types, the CRD's openAPIV3Schema and validation messages.
import { z } from "zod";
import {
  conditions,
  described,
  dnsLabel,
  engine,
  quantity,
  StorageSchema,
  timestamp,
  uri,
} from "./fields.js";
import { TrainingCondition } from "./conditions.js";
import { WorkerPodTemplateSchema } from "./pod-template.js";

export const GROUP = "stylekube.io";
export const VERSION = "v1alpha1";
export const API_VERSION = `${GROUP}/${VERSION}`;

/** VGG-16 activations a loss can read (paper, section 3.1 and 4). */
export const VGG_LAYERS = [
  "relu1_1",
  "relu1_2",
  "relu2_1",
  "relu2_2",
  "relu3_1",
  "relu3_2",
  "relu3_3",
  "relu4_1",
  "relu4_2",
  "relu4_3",
] as const;
export type VggLayer = (typeof VGG_LAYERS)[number];

/** Normalisation in the transformation network. */
export const NORMALIZATIONS = ["instance", "batch"] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];
/** Upsampling layers of the transformation network. */
export const UPSAMPLINGS = ["upsample-conv", "transpose"] as const;
export type Upsampling = (typeof UPSAMPLINGS)[number];

export const HyperparametersSchema = z
  .object({
    imageSize: z
      .int()
      .min(16)
      .max(2048)
      .multipleOf(4)
      .default(256)
      .describe(
        "Side of the square training crops in pixels (paper: 256). A multiple of 4, because the network downsamples twice by 2.",
      ),
    batchSize: z
      .int()
      .min(1)
      .max(256)
      .default(4)
      .describe("Images per worker per step (paper: 4). The global batch is batchSize × workers."),
    iterations: z
      .int()
      .min(1)
      .max(10_000_000)
      .default(40_000)
      .describe("Optimiser steps (paper: 40000, about two epochs of COCO at batch 4)."),
    learningRate: z
      .number()
      .gt(0)
      .max(1)
      .default(1e-3)
      .describe("Adam learning rate (paper: 1e-3); with a cosine schedule, the rate at step 1."),
    learningRateSchedule: z
      .enum(["constant", "cosine"])
      .default("constant")
      .describe(
        "How the learning rate changes over the iterations: constant (the paper's) or cosine (annealed from learningRate to minLearningRate at the last iteration, as PyTorch's CosineAnnealingLR).",
      ),
    minLearningRate: z
      .number()
      .min(0)
      .max(1)
      .default(0)
      .describe("The cosine schedule's learning rate at the last iteration (PyTorch's eta_min)."),
    contentWeight: z
      .number()
      .min(0)
      .default(1)
      .describe("λc, weight of the feature reconstruction loss (eq. 2)."),
    styleWeight: z
      .number()
      .min(0)
      .default(1e-4)
      .describe(
        "λs, weight of the style reconstruction loss (eq. 4, summed Frobenius norms as the paper writes them). The paper's 5 to 10 assume its reference code's per-element mean; with eq. 4 as written and Caffe-convention VGG-16 features, 3e-4 is the reference code's balance, and 1e-4 kept more of the photo at an equal CPU budget, with a style term no higher (docs/gallery.md, \"Choosing the recipe\"). Raise it for a stronger style.",
      ),
    tvWeight: z
      .number()
      .min(0)
      .default(1e-4)
      .describe(
        "λTV, weight of the total-variation regulariser (paper: 1e-6 to 1e-4, chosen per style). At the default λs the TV term stays under 1% of the loss; raise it (1e-3) for smoother output.",
      ),
    contentLayer: z
      .enum(VGG_LAYERS)
      .default("relu2_2")
      .describe("VGG-16 layer of the feature reconstruction loss (paper: relu2_2)."),
    styleLayers: z
      .array(z.enum(VGG_LAYERS))
      .min(1)
      .max(VGG_LAYERS.length)
      .default(["relu1_2", "relu2_2", "relu3_3", "relu4_3"])
      .describe(
        "VGG-16 layers of the style reconstruction loss (paper: relu1_2, relu2_2, relu3_3, relu4_3).",
      ),
    normalization: z
      .enum(NORMALIZATIONS)
      .default("instance")
      .describe(
        "Normalisation in the transformation network: instance (Ulyanov et al., better stylisation) or batch (the paper's).",
      ),
    upsampling: z
      .enum(UPSAMPLINGS)
      .default("upsample-conv")
      .describe(
        "Upsampling layers: upsample-conv (nearest-neighbour then conv, no checkerboard artefacts) or transpose (the paper's fractionally strided convs).",
      ),
    seed: z
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .default(0)
      .describe("Seed of weight initialisation and data order; the same seed gives the same run."),
  })
  .strict()
  .prefault({})
  .describe("Training hyperparameters; every field defaults to the paper's value.");

export const LossNetworkSchema = described(
  z
    .object({
      weights: uri(
        "VGG-16 weights: the file `stylekube weights pull vgg16` writes (.safetensors), Keras vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, torchvision VGG-16 .safetensors, a VGG-16 .onnx export, or a TensorFlow.js layers model.json. Omitted: the operator's default (STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS), if it has one.",
        ["s3", "file", "http"],
        "a weights URI",
        "s3://bucket/vgg16.safetensors, file:///weights/vgg16_notop.h5 or https://host/vgg16.onnx",
      ).optional(),
      format: z
        .enum(["auto", "keras-h5", "safetensors", "tfjs-layers", "onnx"])
        .default("auto")
        .describe("Weights format; auto decides by file extension (.h5, .safetensors, .json, .onnx)."),
      convention: z
        .enum(["auto", "caffe", "torch"])
        .default("auto")
        .describe(
          "Input the weights expect: caffe (Keras and the original VGG: BGR, 0-255 minus the ImageNet mean) or torch (torchvision: RGB, 0-1, ImageNet mean/std). auto takes it from the file's metadata, a known source, or the format (.h5 and model.json: caffe; .safetensors without metadata: torch).",
        ),
      random: z
        .boolean()
        .default(false)
        .describe("Use random VGG-16 weights. For tests only: the network learns nothing useful."),
    })
    .strict()
    .prefault({}),
  "The frozen VGG-16 loss network. Training refuses to start without weights (here or the operator's default) unless random is true.",
  [
    {
      rule: "!(has(self.weights) && self.random)",
      message: "set either weights or random: true, not both",
      check: (v: { weights?: string; random?: boolean }) => !(v.weights !== undefined && v.random === true),
    },
  ],
);

export const WorkerResourcesSchema = z
  .object({
    gpu: z.int().min(0).max(16).default(1).describe("GPUs per worker; 0 trains on CPU (engine wasm or cpu)."),
    gpuResourceName: z
      .string()
      .max(253)
      .default("nvidia.com/gpu")
      .describe("Extended resource name of the GPU, e.g. nvidia.com/gpu or amd.com/gpu."),
    cpu: quantity("CPU request and limit per worker.").default("4"),
    memory: quantity("Memory request and limit per worker.").default("16Gi"),
    ephemeralStorage: quantity(
      "Ephemeral storage request and limit per worker, and the size limit of its /tmp (where downloaded loss-network weights are unpacked).",
    ).default("2Gi"),
  })
  .strict()
  .prefault({})
  .describe("Resources of each worker pod. A GPU per worker by default; set gpu: 0 for CPU workers.");

export const CheckpointSchema = z
  .object({
    everySteps: z
      .int()
      .min(1)
      .default(1000)
      .describe("Rank 0 writes a checkpoint (and the previews of spec.previews) every N steps."),
    keep: z.int().min(1).max(1000).default(3).describe("Complete checkpoints kept; older ones are deleted."),
  })
  .strict()
  .prefault({})
  .describe("Checkpointing; an attempt that restarts resumes from the latest complete checkpoint.");

// A held-out photo: a URI, or a path relative to spec.dataset; a trailing "/"
// means every image under that prefix. Relative segments start with a letter,
// digit or "_", so "." and ".." cannot appear and a path stays inside the dataset.
const PREVIEW_SOURCE_URI = "^(s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/.*|file:///.+|https?://[^/]+/.*[^/])$";
const PREVIEW_SOURCE_RELATIVE = "^([A-Za-z0-9_][A-Za-z0-9_.-]*/)*([A-Za-z0-9_][A-Za-z0-9_.-]*)?$";
const PREVIEW_SOURCE_RES = [new RegExp(PREVIEW_SOURCE_URI), new RegExp(PREVIEW_SOURCE_RELATIVE)];

const previewSource = described(
  z.string().min(1).max(2048),
  "A held-out photo (JPEG, PNG or WebP): a URI, or a path relative to spec.dataset. Ending in / it stands for every image under that prefix (s3 and file only), in name order.",
  [
    {
      rule: `self.matches(r'${PREVIEW_SOURCE_URI}') || self.matches(r'${PREVIEW_SOURCE_RELATIVE}')`,
      message:
        "must be a photo URI (s3://bucket/held-out/cat.jpg, file:///photos/cat.jpg, https://host/cat.jpg) or a path relative to spec.dataset such as held-out/ or held-out/cat.jpg (no '.' or '..' segments)",
      check: (v: string) => PREVIEW_SOURCE_RES.some((r) => r.test(v)),
    },
  ],
);

export const PreviewsSchema = z
  .object({
    photos: z
      .array(previewSource)
      .max(16)
      .default(["held-out/"])
      .describe(
        "Held-out photos (never in the training set) that rank 0 stylises at every checkpoint, for the dashboard's slider. Default: every image under held-out/ beside the packed dataset. An empty list writes no previews.",
      ),
    maxPhotos: z
      .int()
      .min(1)
      .max(16)
      .default(4)
      .describe("At most this many photos, taken in the order of photos (a prefix in name order)."),
    size: z
      .int()
      .min(32)
      .max(512)
      .default(256)
      .describe(
        "Longer side of a preview in pixels (both sides are then cut down to multiples of 4, as the network needs).",
      ),
  })
  .strict()
  .prefault({})
  .describe("Previews: held-out photos stylised by each checkpoint, shown by the dashboard.");

export const ServingTargetSchema = z
  .object({
    server: dnsLabel("StyleServer in the same namespace that serves the finished model."),
    style: dnsLabel(
      "Name of the style on that server (the {name} in /v1/styles/{name}:stylize); defaults to the StyleTraining's name.",
    ).optional(),
  })
  .strict()
  .describe("Deploy the finished model to a StyleServer. Omit to only write the model to output.");

export const StyleTrainingSpecSchema = z
  .object({
    style: uri(
      "The style image (JPEG, PNG or WebP).",
      ["s3", "file", "http"],
      "an image URI",
      "s3://bucket/styles/mosaic.jpg, file:///data/mosaic.jpg or https://host/mosaic.jpg",
    ),
    dataset: uri(
      "Prefix of the packed dataset (tar shards plus index.json), as written by `stylekube dataset pack`.",
      ["s3", "file"],
      "a dataset prefix URI",
      "s3://bucket/coco256/ or file:///data/coco256/",
    ),
    output: uri(
      "Prefix where checkpoints, previews and the final model are written.",
      ["s3", "file"],
      "an output prefix URI",
      "s3://bucket/models/mosaic/ or file:///data/models/mosaic/",
    ),
    workers: z
      .int()
      .min(1)
      .max(64)
      .default(1)
      .describe("Data-parallel workers; gradients are averaged over NATS every step."),
    resources: WorkerResourcesSchema,
    engine: engine(
      "Compute engine of the workers; auto tries onnxruntime (CUDA), webgpu, tensorflow, onnxruntime (CPU), wasm, cpu in that order.",
    ),
    hyperparameters: HyperparametersSchema,
    initialModel: uri(
      "A model exported by an earlier training (its model/ prefix: model.json, weights.bin, manifest.json) whose weights the network starts from instead of a random initialisation, to continue or fine-tune a style. Used only while the training has no checkpoint of its own; its normalization and upsampling must match hyperparameters.",
      ["s3", "file"],
      "a model prefix URI",
      "s3://bucket/models/mosaic/model/ or file:///data/models/mosaic/model/",
    ).optional(),
    lossNetwork: LossNetworkSchema,
    checkpoint: CheckpointSchema,
    previews: PreviewsSchema,
    serving: ServingTargetSchema.optional(),
    storage: StorageSchema.optional(),
    image: z
      .string()
      .max(1024)
      .optional()
      .describe("Worker container image; defaults to the operator's trainer image."),
    template: WorkerPodTemplateSchema.optional(),
    suspend: z
      .boolean()
      .default(false)
      .describe(
        "Suspend removes the worker pods and keeps progress; resuming continues from the checkpoint.",
      ),
    activeDeadlineSeconds: z
      .int()
      .min(1)
      .optional()
      .describe("Fail the training once it has run this long, counted from startTime."),
    ttlSecondsAfterFinished: z
      .int()
      .min(0)
      .optional()
      .describe("Delete the StyleTraining this long after it succeeded or failed."),
    backoffLimit: z
      .int()
      .min(0)
      .max(100)
      .default(3)
      .describe("Attempts restarted after a worker failure before the training is marked Failed."),
  })
  .strict()
  .describe("What to train: style image, dataset, workers, hyperparameters, and where the model goes.");

export const TRAINING_PHASES = [
  "Pending",
  "Running",
  "Restarting",
  "Suspended",
  "Succeeded",
  "Failed",
] as const;
export type TrainingPhase = (typeof TRAINING_PHASES)[number];

/** Condition types of a StyleTraining (metav1.Condition semantics). */
export const TRAINING_CONDITIONS = Object.values(TrainingCondition);

const nonNegative = (description: string) => z.number().min(0).describe(description);

export const LossTermsSchema = z
  .object({
    total: nonNegative("λc·ℓfeat + λs·ℓstyle + λTV·ℓTV."),
    content: nonNegative("Feature reconstruction loss ℓfeat (eq. 2), unweighted."),
    style: nonNegative("Style reconstruction loss ℓstyle (eq. 4), unweighted."),
    tv: nonNegative("Total-variation loss ℓTV, unweighted."),
  })
  .strict()
  .describe("Loss terms of the latest reported step, averaged over workers.");

export const StyleTrainingStatusSchema = z
  .object({
    phase: z
      .enum(TRAINING_PHASES)
      .optional()
      .describe("Pending, Running, Restarting, Suspended, Succeeded or Failed."),
    conditions: conditions(
      "Created, Running, Restarting, Succeeded, Failed, Suspended, Deployed, as metav1.Conditions. Failed's reason says why: InvalidSpec, BackoffLimitExceeded, DeadlineExceeded, or PermanentError (a worker found an input missing or unreadable; its message names the field and the URI, and no retry was spent on it).",
    ).optional(),
    attempt: z
      .int()
      .min(0)
      .optional()
      .describe("Current attempt; a failed worker restarts the whole attempt."),
    restarts: z
      .int()
      .min(0)
      .optional()
      .describe("Attempts ended by a failed worker; the training fails once this exceeds spec.backoffLimit."),
    workers: z
      .object({
        ready: z.int().min(0).describe("Worker pods running and ready."),
        total: z.int().min(0).describe("Worker pods of the current attempt."),
      })
      .strict()
      .optional()
      .describe("Worker pods of the current attempt."),
    progress: z
      .object({
        step: z.int().min(0).describe("Completed optimiser steps."),
        totalSteps: z.int().min(0).describe("hyperparameters.iterations."),
        percent: z.number().min(0).max(100).describe("step / totalSteps × 100."),
        imagesPerSecond: nonNegative("Training throughput over all workers."),
        etaSeconds: nonNegative("Estimated seconds to completion at the current throughput.").optional(),
        loss: LossTermsSchema.optional(),
      })
      .strict()
      .optional()
      .describe("Training progress, folded in from the workers' progress messages."),
    lastCheckpoint: z
      .object({
        uri: z.string().describe("Prefix of the checkpoint (its manifest is written last)."),
        step: z.int().min(0).describe("Step the checkpoint was taken at."),
        time: timestamp("When the checkpoint's manifest was written."),
      })
      .strict()
      .optional()
      .describe("Latest complete checkpoint; the next attempt resumes from it."),
    modelURI: z.string().optional().describe("The final exported model, once Succeeded."),
    startTime: timestamp("When the first attempt started.").optional(),
    completionTime: timestamp("When the training succeeded or failed.").optional(),
    observedGeneration: z.int().min(0).optional().describe("The .metadata.generation this status reflects."),
  })
  .strict()
  .describe("Observed state, written by the operator through the status subresource.");

export const ObjectMetaSchema = z
  .object({
    name: z.string().optional(),
    namespace: z.string().optional(),
    generation: z.int().optional(),
    resourceVersion: z.string().optional(),
    uid: z.string().optional(),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional(),
  })
  .loose();

export const StyleTrainingSchema = z
  .object({
    apiVersion: z.literal(API_VERSION),
    kind: z.literal("StyleTraining"),
    metadata: ObjectMetaSchema,
    spec: StyleTrainingSpecSchema,
    status: StyleTrainingStatusSchema.optional(),
  })
  .strict();

/** A StyleTraining as written by a user (defaults not yet applied). */
export type StyleTrainingInput = z.input<typeof StyleTrainingSchema>;
/** A StyleTraining with every default filled in. */
export type StyleTraining = z.infer<typeof StyleTrainingSchema>;
export type StyleTrainingSpec = z.infer<typeof StyleTrainingSpecSchema>;
export type StyleTrainingStatus = z.infer<typeof StyleTrainingStatusSchema>;
export type Hyperparameters = z.infer<typeof HyperparametersSchema>;
export type Previews = z.infer<typeof PreviewsSchema>;
