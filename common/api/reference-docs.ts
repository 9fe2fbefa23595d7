// docs/api.md, generated from the same schemas as the CRDs, so the reference
// can never drift from what the apiserver enforces.
import { crdFor, KINDS } from "./crds.js";
import type { JSONSchemaProps } from "./openapi.js";

function typeOf(s: JSONSchemaProps): string {
  if (s.type === "array" && s.items) return `[]${typeOf(s.items)}`;
  if (s.type === "object" && typeof s.additionalProperties === "object")
    return `map[string]${typeOf(s.additionalProperties)}`;
  return s.type ?? "";
}

function constraints(s: JSONSchemaProps): string {
  const out: string[] = [];
  if (Array.isArray(s.enum)) out.push(`one of ${s.enum.map((v) => `\`${String(v)}\``).join(", ")}`);
  if (s.minimum !== undefined) out.push(`${s.exclusiveMinimum ? ">" : "≥"} ${String(s.minimum)}`);
  if (s.maximum !== undefined) out.push(`≤ ${String(s.maximum)}`);
  if (s.multipleOf !== undefined) out.push(`multiple of ${String(s.multipleOf)}`);
  if (s.minItems !== undefined) out.push(`≥ ${String(s.minItems)} items`);
  const rules = s["x-kubernetes-validations"] as { message: string }[] | undefined;
  for (const r of rules ?? []) out.push(r.message.replace(/\|/g, "\\|"));
  return out.join("; ");
}

function rows(s: JSONSchemaProps, path: string, required: boolean, out: string[]): void {
  const def = s.default !== undefined ? `\`${JSON.stringify(s.default)}\`` : required ? "required" : "";
  const desc = String(s.description ?? "").replace(/\|/g, "\\|");
  out.push(`| \`${path}\` | ${typeOf(s)} | ${def} | ${desc} | ${constraints(s)} |`);
  const req = new Set((s.required as string[] | undefined) ?? []);
  for (const [k, v] of Object.entries(s.properties ?? {})) rows(v, `${path}.${k}`, req.has(k), out);
  if (s.items?.properties)
    for (const [k, v] of Object.entries(s.items.properties)) rows(v, `${path}[].${k}`, false, out);
  const ap = s.additionalProperties;
  if (typeof ap === "object" && ap.properties) {
    const apReq = new Set((ap.required as string[] | undefined) ?? []);
    for (const [k, v] of Object.entries(ap.properties)) rows(v, `${path}.<name>.${k}`, apReq.has(k), out);
  }
}

export function renderApiReference(): string {
  const out = [
    "# API reference: `stylekube.io/v1alpha1`",
    "",
    "Generated from the zod schemas in `common/api/` by `npm run generate`; a test fails when it is stale.",
    "The apiserver (through the CRDs) and zod (operator, CLI, `--local`) enforce the same rules with the same messages.",
    "",
  ];
  for (const def of KINDS) {
    const crd = crdFor(def) as { spec: { versions: { schema: { openAPIV3Schema: JSONSchemaProps } }[] } };
    const root = crd.spec.versions[0]!.schema.openAPIV3Schema;
    out.push(
      `## ${def.kind}`,
      "",
      def.description,
      "",
      `Short names: ${def.shortNames.map((n) => `\`${n}\``).join(", ")}.`,
      "",
    );
    for (const part of ["spec", "status"] as const) {
      out.push(
        `### ${def.kind}.${part}`,
        "",
        "| field | type | default | description | validation |",
        "| --- | --- | --- | --- | --- |",
      );
      const schema = root.properties![part]!;
      const req = new Set((schema.required as string[] | undefined) ?? []);
      for (const [k, v] of Object.entries(schema.properties ?? {})) rows(v, `${part}.${k}`, req.has(k), out);
      out.push("");
    }
  }
  return out.join("\n");
}
