// `npm run generate`: rewrite manifests/crds/ and docs/api.md from the zod schemas.
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { crdFileName, KINDS, renderCrdYaml } from "./crds.js";
import { renderApiReference } from "./reference-docs.js";

const ROOT = resolve(import.meta.dirname, "../..");
export const CRD_DIR = resolve(ROOT, "manifests/crds");
export const API_DOC = resolve(ROOT, "docs/api.md");

mkdirSync(CRD_DIR, { recursive: true });
for (const kind of KINDS) {
  const file = resolve(CRD_DIR, crdFileName(kind));
  writeFileSync(file, renderCrdYaml(kind));
  console.log(`wrote ${file}`);
}
writeFileSync(API_DOC, renderApiReference());
console.log(`wrote ${API_DOC}`);
