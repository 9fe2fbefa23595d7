// zod → the structural openAPIV3Schema a CRD needs. zod's own JSON Schema
// output (OpenAPI 3.0 target) is close; Kubernetes additionally forbids
// `additionalProperties: false` beside `properties`, has no use for the
// ±2^53 bounds zod puts on every integer, and prefers `format: date-time`
// to zod's long date regex.
import { z } from "zod";

export type JSONSchemaProps = {
  [key: string]: unknown;
  type?: string;
  properties?: Record<string, JSONSchemaProps>;
  items?: JSONSchemaProps;
  additionalProperties?: JSONSchemaProps | boolean;
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function toStructural(node: unknown): JSONSchemaProps {
  if (!isRecord(node)) throw new Error(`unexpected JSON schema node: ${JSON.stringify(node)}`);
  const out: JSONSchemaProps = {};
  for (const [key, value] of Object.entries(node)) {
    switch (key) {
      case "$schema":
      case "id":
        break;
      case "properties":
        // The apiserver drops an empty `properties: {}` when it stores a CRD,
        // so a server-side apply of the file (helm 4 installs CRDs that way)
        // would conflict with whoever created the stored copy: leave it out.
        if (Object.keys(value as Record<string, unknown>).length === 0) break;
        out.properties = Object.fromEntries(
          Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, toStructural(v)]),
        );
        break;
      case "items":
        out.items = toStructural(value);
        break;
      case "additionalProperties":
        // `{}` beside x-kubernetes-preserve-unknown-fields is a loose object
        // (a Kubernetes type the apiserver checks when the pod is created);
        // `false` is zod's strictness; the apiserver prunes unknown fields instead.
        if (isRecord(value) && !node["x-kubernetes-preserve-unknown-fields"])
          out.additionalProperties = toStructural(value);
        break;
      case "minimum":
      case "maximum":
        if (Math.abs(value as number) < Number.MAX_SAFE_INTEGER) out[key] = value;
        break;
      case "pattern":
        if (node.format !== "date-time") out[key] = value;
        break;
      case "anyOf":
      case "oneOf":
      case "allOf":
        throw new Error(`${key} is not structural; express the union as one object with optional fields`);
      default:
        out[key] = value;
    }
  }
  if (out.type === undefined) throw new Error(`schema node without a type: ${JSON.stringify(node)}`);
  return out;
}

/** The openAPIV3Schema of a zod schema, as user input (defaults optional). */
export function toOpenAPIV3Schema(schema: z.ZodType): JSONSchemaProps {
  const json = z.toJSONSchema(schema, { target: "openapi-3.0", io: "input", unrepresentable: "throw" });
  return toStructural(json);
}
