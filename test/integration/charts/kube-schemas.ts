// JSON schemas for kubeconform, generated from a live apiserver's OpenAPI v3
// (kubeconform would download them from GitHub, which the test machines cannot
// reach; and these are exactly the server's own, our CRDs included once they
// are installed). Layout: kubeconform's `{{ .ResourceKind }}{{ .KindSuffix }}.json`,
// one standalone file per kind, every $ref carried along under `definitions`.
import { mkdirSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { join } from "node:path";
import type * as k8s from "@kubernetes/client-node";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

const REF_PREFIX = "#/components/schemas/";

function getJson(kc: k8s.KubeConfig, path: string): Promise<Json> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error("kubeconfig has no current cluster");
  const url = new URL(path, cluster.server);
  const options: https.RequestOptions = { headers: { accept: "application/json" } };
  return kc.applyToHTTPSOptions(options).then(
    () =>
      new Promise<Json>((resolve, reject) => {
        https
          .get(url, options, (res) => {
            const chunks: Buffer[] = [];
            res.on("data", (c: Buffer) => chunks.push(c));
            res.on("end", () => {
              const body = Buffer.concat(chunks).toString("utf8");
              if (res.statusCode !== 200)
                reject(new Error(`GET ${path}: ${res.statusCode} ${body.slice(0, 300)}`));
              else resolve(JSON.parse(body) as Json);
            });
          })
          .on("error", reject);
      }),
  );
}

const isObject = (v: Json | undefined): v is JsonObject =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * A copy of an OpenAPI schema as a draft-04 JSON schema (kubeconform's default
 * draft) that kubeconform's -strict mode can use:
 * - $refs point into the file's own `definitions`;
 * - objects with declared properties reject undeclared ones
 *   (additionalProperties: false) unless the schema says unknown fields are
 *   preserved — that is what catches a mistyped key in a template;
 * - `nullable` becomes a "null" type, and empty `required` lists (invalid in
 *   draft-04) are dropped.
 */
function convert(node: Json, refs: Set<string>): Json {
  if (Array.isArray(node)) return node.map((n) => convert(n, refs));
  if (!isObject(node)) return node;
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === "$ref" && typeof value === "string" && value.startsWith(REF_PREFIX)) {
      const name = value.slice(REF_PREFIX.length);
      refs.add(name);
      out[key] = `#/definitions/${name}`;
    } else if (key === "required" && Array.isArray(value) && value.length === 0) {
      continue;
    } else if (key === "properties" && isObject(value)) {
      // Property names are data, not keywords: convert each value, never the map itself.
      out[key] = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, convert(v, refs)]));
    } else {
      out[key] = convert(value, refs);
    }
  }
  if (out.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  delete out.nullable;
  if (
    isObject(out.properties) &&
    out.additionalProperties === undefined &&
    out["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    out.additionalProperties = false;
  }
  return out;
}

/** kubeconform's KindSuffix: "-" + first label of the group (or the version for core) + "-" + version. */
export function kindSuffix(group: string, version: string): string {
  return group === "" ? `-${version}` : `-${group.split(".")[0]}-${version}`.toLowerCase();
}

export interface SchemaSet {
  dir: string;
  /** kubeconform -schema-location value. */
  location: string;
  /** "group/version/Kind" of every schema written. */
  kinds: string[];
}

/** Writes one schema file per kind the apiserver serves into dir. */
export async function writeKubeconformSchemas(kc: k8s.KubeConfig, dir: string): Promise<SchemaSet> {
  mkdirSync(dir, { recursive: true });
  const root = await getJson(kc, "/openapi/v3");
  const paths = isObject(root) && isObject(root.paths) ? root.paths : {};
  const written = new Map<string, string>();
  // Only group-version documents: "api/v1" and "apis/<group>/<version>".
  const groupVersions = Object.entries(paths).filter(([p]) => /^(api\/v1|apis\/[^/]+\/[^/]+)$/.test(p));
  await Promise.all(
    groupVersions.map(async ([path, entry]) => {
      const url =
        isObject(entry) && typeof entry.serverRelativeURL === "string" ? entry.serverRelativeURL : null;
      if (!url) throw new Error(`/openapi/v3: no serverRelativeURL for ${path}`);
      const [group, version] = path === "api/v1" ? ["", "v1"] : path.split("/").slice(1);
      const doc = await getJson(kc, url);
      const schemas =
        isObject(doc) && isObject(doc.components) && isObject(doc.components.schemas)
          ? doc.components.schemas
          : {};
      for (const [name, schema] of Object.entries(schemas)) {
        if (!isObject(schema)) continue;
        const gvks = (schema["x-kubernetes-group-version-kind"] ?? []) as unknown as GroupVersionKind[];
        // A document also lists shared kinds of other groups (DeleteOptions, Scale): only its own count.
        const own = gvks.find((g) => g.group === group && g.version === version);
        if (!own) continue;
        const refs = new Set<string>();
        const converted = convert(schema, refs) as JsonObject;
        const definitions: JsonObject = {};
        // Breadth-first over the $refs; recursive types (JSONSchemaProps) terminate because each name is added once.
        const queue = [...refs];
        while (queue.length > 0) {
          const ref = queue.shift()!;
          if (ref in definitions) continue;
          const target = schemas[ref];
          if (target === undefined) throw new Error(`${path}: ${name} refers to missing ${ref}`);
          const nested = new Set<string>();
          definitions[ref] = convert(target, nested);
          for (const n of nested) if (!(n in definitions)) queue.push(n);
        }
        const file = `${own.kind.toLowerCase()}${kindSuffix(own.group, own.version)}.json`;
        const gvk = `${own.group}/${own.version}/${own.kind}`;
        // kubeconform's file names keep only the group's first label: two groups that share it would collide.
        const previous = written.get(file);
        if (previous && previous !== gvk) throw new Error(`${file} would hold both ${previous} and ${gvk}`);
        written.set(file, gvk);
        writeFileSync(join(dir, file), JSON.stringify({ ...converted, definitions }));
      }
    }),
  );
  return {
    dir,
    location: join(dir, "{{ .ResourceKind }}{{ .KindSuffix }}.json"),
    kinds: [...written.values()].sort(),
  };
}
