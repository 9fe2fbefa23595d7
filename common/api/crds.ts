// The two CustomResourceDefinitions, generated from the zod schemas. The
// checked-in YAML under manifests/crds/ is this module's output; a test fails
// when they differ (`npm run generate` rewrites them).
import { stringify } from "yaml";
import type { z } from "zod";
import { toOpenAPIV3Schema, type JSONSchemaProps } from "./openapi.js";
import { StyleServerSpecSchema, StyleServerStatusSchema } from "./style-server.js";
import { GROUP, StyleTrainingSpecSchema, StyleTrainingStatusSchema, VERSION } from "./style-training.js";
import { APP, LABELS } from "./owned-objects.js";

interface PrinterColumn {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  jsonPath: string;
  description: string;
  priority?: number;
}

interface KindDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  description: string;
  spec: z.ZodType;
  status: z.ZodType;
  printerColumns: PrinterColumn[];
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath: string };
}

const AGE: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description: "Time since creation.",
};

export const STYLE_TRAINING: KindDefinition = {
  kind: "StyleTraining",
  plural: "styletrainings",
  singular: "styletraining",
  shortNames: ["st"],
  description:
    "StyleTraining trains one fast style-transfer network (Johnson et al. 2016) with data-parallel workers and optionally deploys it to a StyleServer.",
  spec: StyleTrainingSpecSchema,
  status: StyleTrainingStatusSchema,
  printerColumns: [
    { name: "Phase", type: "string", jsonPath: ".status.phase", description: "Lifecycle phase." },
    {
      name: "Progress",
      type: "number",
      jsonPath: ".status.progress.percent",
      description: "Percent of steps done.",
    },
    {
      name: "Loss",
      type: "number",
      jsonPath: ".status.progress.loss.total",
      description: "Latest total loss.",
    },
    { name: "Workers", type: "integer", jsonPath: ".spec.workers", description: "Workers requested." },
    {
      name: "Ready",
      type: "integer",
      jsonPath: ".status.workers.ready",
      description: "Workers running and ready.",
    },
    {
      name: "Attempt",
      type: "integer",
      jsonPath: ".status.attempt",
      description: "Current attempt.",
      priority: 1,
    },
    {
      name: "ETA",
      type: "number",
      jsonPath: ".status.progress.etaSeconds",
      description: "Seconds left.",
      priority: 1,
    },
    AGE,
  ],
};

export const STYLE_SERVER: KindDefinition = {
  kind: "StyleServer",
  plural: "styleservers",
  singular: "styleserver",
  shortNames: ["ssv"],
  description: "StyleServer runs a scalable Deployment of the stylekube model server for a set of styles.",
  spec: StyleServerSpecSchema,
  status: StyleServerStatusSchema,
  printerColumns: [
    { name: "Desired", type: "integer", jsonPath: ".spec.replicas", description: "Replicas asked for." },
    { name: "Replicas", type: "integer", jsonPath: ".status.replicas", description: "Replicas created." },
    {
      name: "Ready",
      type: "integer",
      jsonPath: ".status.readyReplicas",
      description: "Replicas with every style loaded.",
    },
    { name: "Styles", type: "string", jsonPath: ".status.loadedStyles", description: "Styles loaded." },
    {
      name: "Engine",
      type: "string",
      jsonPath: ".status.engine",
      description: "Inference engine the replicas chose (engine/provider).",
    },
    AGE,
  ],
  scale: {
    specReplicasPath: ".spec.replicas",
    statusReplicasPath: ".status.replicas",
    labelSelectorPath: ".status.selector",
  },
};

export const KINDS = [STYLE_TRAINING, STYLE_SERVER] as const;

export function crdFor(def: KindDefinition): Record<string, unknown> {
  const spec = toOpenAPIV3Schema(def.spec);
  const status = toOpenAPIV3Schema(def.status);
  const schema: JSONSchemaProps = {
    type: "object",
    description: def.description,
    required: ["spec"],
    properties: {
      apiVersion: { type: "string", description: "APIVersion of this object: stylekube.io/v1alpha1." },
      kind: { type: "string", description: `Kind of this object: ${def.kind}.` },
      metadata: { type: "object" },
      spec,
      status,
    },
  };
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: {
      name: `${def.plural}.${GROUP}`,
      labels: { [LABELS.name]: APP, [LABELS.partOf]: APP },
    },
    spec: {
      group: GROUP,
      scope: "Namespaced",
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: ["stylekube"],
      },
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: schema },
          subresources: { status: {}, ...(def.scale ? { scale: def.scale } : {}) },
          additionalPrinterColumns: def.printerColumns,
        },
      ],
    },
  };
}

const HEADER = "# Generated from common/api by `npm run generate`; do not edit.\n";

export function renderCrdYaml(def: KindDefinition): string {
  return HEADER + stringify(crdFor(def), { lineWidth: 0 });
}

export function crdFileName(def: KindDefinition): string {
  return `${GROUP}_${def.plural}.yaml`;
}

export function renderCrdsYaml(): string {
  return KINDS.map((k) => renderCrdYaml(k)).join("---\n");
}
