import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import { parse } from "yaml";
import {
  crdFileName,
  crdFor,
  KINDS,
  renderCrdYaml,
  STYLE_SERVER,
  STYLE_TRAINING,
} from "../../../common/api/crds.js";
import { renderApiReference } from "../../../common/api/reference-docs.js";
import { REPO_ROOT } from "../../env/env-file.js";

type Schema = {
  type?: string;
  required?: string[];
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
};

function walk(schema: Schema, path: string, visit: (s: Schema, path: string) => void): void {
  visit(schema, path);
  for (const [k, v] of Object.entries(schema.properties ?? {})) walk(v, `${path}.${k}`, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
  if (typeof schema.additionalProperties === "object") walk(schema.additionalProperties, `${path}{}`, visit);
}

function openAPI(def: typeof STYLE_TRAINING): Schema {
  const crd = crdFor(def) as { spec: { versions: { schema: { openAPIV3Schema: Schema } }[] } };
  return crd.spec.versions[0]!.schema.openAPIV3Schema;
}

describe("generated CRDs", () => {
  for (const kind of KINDS) {
    it(`manifests/crds/${crdFileName(kind)} is current (run \`npm run generate\` if this fails)`, () => {
      const file = resolve(REPO_ROOT, "manifests/crds", crdFileName(kind));
      assert.equal(readFileSync(file, "utf8"), renderCrdYaml(kind));
    });

    it(`${kind.kind}: every spec and status field has a description and a type`, () => {
      const root = openAPI(kind);
      const missing: string[] = [];
      for (const part of ["spec", "status"]) {
        walk(root.properties![part]!, part, (s, path) => {
          if (!path.endsWith("[]") && !path.endsWith("{}") && !s.description) missing.push(path);
          if (!s.type) missing.push(`${path} (type)`);
        });
      }
      assert.deepEqual(missing, []);
    });

    it(`${kind.kind}: no empty properties (the apiserver drops them, so helm's server-side apply would conflict)`, () => {
      const empty: string[] = [];
      walk(openAPI(kind), "", (s, path) => {
        if (s.properties !== undefined && Object.keys(s.properties).length === 0)
          empty.push(path || "(root)");
      });
      assert.deepEqual(empty, []);
    });
  }

  it("docs/api.md is current (run `npm run generate` if this fails)", () => {
    assert.equal(readFileSync(resolve(REPO_ROOT, "docs/api.md"), "utf8"), renderApiReference());
  });

  it("StyleTraining: short name st, status subresource, printer columns", () => {
    const crd = parse(renderCrdYaml(STYLE_TRAINING));
    assert.deepEqual(crd.spec.names.shortNames, ["st"]);
    const v = crd.spec.versions[0];
    assert.deepEqual(v.subresources, { status: {} });
    const columns = v.additionalPrinterColumns.map((c: { name: string }) => c.name);
    for (const c of ["Phase", "Progress", "Loss", "Workers", "Age"]) assert.ok(columns.includes(c), c);
  });

  it("StyleServer: scale subresource on spec.replicas / status.replicas", () => {
    const crd = parse(renderCrdYaml(STYLE_SERVER));
    assert.deepEqual(crd.spec.versions[0].subresources.scale, {
      specReplicasPath: ".spec.replicas",
      statusReplicasPath: ".status.replicas",
      labelSelectorPath: ".status.selector",
    });
  });

  it("bounds, enums and defaults reach the schema", () => {
    const spec = openAPI(STYLE_TRAINING).properties!.spec!;
    const workers = spec.properties!.workers as Record<string, unknown>;
    assert.equal(workers.minimum, 1);
    assert.equal(workers.maximum, 64);
    assert.equal(workers.default, 1);
    const engine = spec.properties!.engine as Record<string, unknown>;
    assert.deepEqual(engine.enum, ["auto", "onnxruntime", "webgpu", "tensorflow", "wasm", "cpu"]);
    const imageSize = spec.properties!.hyperparameters!.properties!.imageSize as Record<string, unknown>;
    assert.equal(imageSize.multipleOf, 4);
    assert.equal(imageSize.default, 256);
    assert.deepEqual(spec.required, ["style", "dataset", "output"]);
  });
});
