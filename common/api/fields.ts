// Field builders shared by the StyleTraining and StyleServer schemas. A rule
// that plain OpenAPI cannot express is written once here, as a zod refinement
// and as the CEL `x-kubernetes-validations` rule with the same message, so the
// apiserver and zod reject the same input with the same words.
import { z } from "zod";

export interface CelRule {
  /** CEL expression, evaluated by kube-apiserver with `self` bound to the field. */
  rule: string;
  message: string;
  /** The same rule in TypeScript, for zod. */
  check: (value: never) => boolean;
}

/** Attach CEL rules (and their zod twins) plus a description. Call last on a schema. */
export function described<T extends z.ZodType>(schema: T, description: string, rules: CelRule[] = []): T {
  let out: z.ZodType = schema;
  for (const r of rules) out = out.refine((v) => r.check(v as never), { message: r.message, abort: true });
  const meta: Record<string, unknown> = { description };
  if (rules.length > 0) {
    meta["x-kubernetes-validations"] = rules.map(({ rule, message }) => ({ rule, message }));
  }
  return out.meta(meta) as unknown as T;
}

// RE2 (CEL) and JavaScript agree on these: no look-around, no backreferences.
const S3_URI = "^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$";
const FILE_URI = "^file:///.+$";
const HTTP_URI = "^https?://[^/]+.*$";

type Scheme = "s3" | "file" | "http";
const SCHEME_PATTERNS: Record<Scheme, string> = { s3: S3_URI, file: FILE_URI, http: HTTP_URI };

/** A storage URI restricted to the given schemes, e.g. `s3://bucket/key` or `file:///path`. */
export function uri(description: string, schemes: Scheme[], what: string, examples: string): z.ZodString {
  const patterns = schemes.map((s) => SCHEME_PATTERNS[s]);
  const rule = patterns.map((p) => `self.matches(r'${p}')`).join(" || ");
  const regexes = patterns.map((p) => new RegExp(p));
  return described(z.string().max(2048), description, [
    {
      rule,
      message: `must be ${what}: ${examples}`,
      check: (v: string) => regexes.some((r) => r.test(v)),
    },
  ]);
}

// Kubernetes' resource.Quantity grammar (decimal SI, binary SI, exponent).
const QUANTITY = "^[0-9]+(\\.[0-9]+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei|e[0-9]+)?$";
const QUANTITY_RE = new RegExp(QUANTITY);

const QUANTITY_SUFFIX: Record<string, number> = {
  "": 1,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The number a Kubernetes quantity stands for ("500m" → 0.5, "2Gi" → 2147483648); NaN if it is not one. */
export function quantityValue(q: string): number {
  if (!QUANTITY_RE.test(q)) return Number.NaN;
  const m = /^([0-9.]+)(.*)$/.exec(q) as RegExpExecArray;
  const [, digits = "", suffix = ""] = m;
  const scale = suffix.startsWith("e")
    ? 10 ** Number(suffix.slice(1))
    : (QUANTITY_SUFFIX[suffix] ?? Number.NaN);
  return Number(digits) * scale;
}

export function quantity(description: string): z.ZodString {
  return described(z.string().max(64), description, [
    {
      rule: `self.matches(r'${QUANTITY}')`,
      message: "must be a Kubernetes quantity such as 4, 500m or 16Gi",
      check: (v: string) => QUANTITY_RE.test(v),
    },
  ]);
}

const DNS_LABEL = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
const DNS_LABEL_RE = new RegExp(DNS_LABEL);

/** A lowercase RFC 1123 label: names of Kubernetes objects and of styles in URLs. */
export function dnsLabel(description: string): z.ZodString {
  return described(z.string().min(1).max(63), description, [
    {
      rule: `self.matches(r'${DNS_LABEL}')`,
      message:
        "must be a lowercase RFC 1123 label: a-z, 0-9 and '-', starting and ending with a letter or digit",
      check: (v: string) => DNS_LABEL_RE.test(v),
    },
  ]);
}

export const DNS_LABEL_PATTERN = DNS_LABEL;
export const DNS_LABEL_REGEXP = DNS_LABEL_RE;

export const timestamp = (description: string) => z.iso.datetime({ offset: true }).describe(description);

/** metav1.Condition, as Kubernetes API conventions define it. */
export const ConditionSchema = z
  .object({
    type: z.string().max(316).describe("Type of condition in CamelCase, e.g. Running or Succeeded."),
    status: z.enum(["True", "False", "Unknown"]).describe("Status of the condition: True, False or Unknown."),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe("The .metadata.generation the condition was set for."),
    lastTransitionTime: timestamp("Last time the condition's status changed."),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .describe("Machine-readable CamelCase reason for the last transition."),
    message: z.string().max(32768).describe("Human-readable details of the last transition."),
  })
  .strict();
export type Condition = z.infer<typeof ConditionSchema>;

export const conditions = (description: string) =>
  z
    .array(ConditionSchema)
    .meta({ description, "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["type"] });

export const ENGINES = ["auto", "onnxruntime", "webgpu", "tensorflow", "wasm", "cpu"] as const;
export const engine = (description: string) => z.enum(ENGINES).default("auto").describe(description);
export type Engine = (typeof ENGINES)[number];
/**
 * The model server's engines: the same names (onnxruntime serves model.onnx
 * beside the weights; providers chosen by STYLEKUBE_ONNX_PROVIDERS).
 */
export const SERVING_ENGINES = ENGINES;
export type ServingEngine = (typeof SERVING_ENGINES)[number];
export const servingEngine = (description: string) =>
  z.enum(SERVING_ENGINES).default("auto").describe(description);

/** Where a pod finds S3 credentials: a Secret in the object's namespace. */
export const StorageSchema = z
  .object({
    secretName: dnsLabel(
      "Secret in the same namespace with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and optionally AWS_SESSION_TOKEN). Omit to use the operator's default or the pod's own identity (IRSA, instance profile).",
    ).optional(),
    endpoint: uri(
      "S3 endpoint for S3-compatible servers such as MinIO, e.g. http://minio.storage:9000. Omit for AWS S3.",
      ["http"],
      "an http(s) URL",
      "http://minio.storage:9000",
    ).optional(),
    region: z
      .string()
      .max(64)
      .optional()
      .describe("S3 region; defaults to the operator's setting or us-east-1."),
    forcePathStyle: z
      .boolean()
      .optional()
      .describe("Address buckets as endpoint/bucket instead of bucket.endpoint (MinIO needs true)."),
  })
  .strict()
  .describe("How pods reach s3:// URIs of this object. Omit to use the operator's defaults.");
