// `npm run generate`: rewrite manifests/crds/ from the zod schemas.
import { mkdirSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { crdFileName, KINDS, renderCrdYaml } from "./crds.js";

export const CRD_DIR = resolve(import.meta.dirname, "../../manifests/crds");

mkdirSync(CRD_DIR, { recursive: true });
for (const kind of KINDS) {
  const file = resolve(CRD_DIR, crdFileName(kind));
  writeFileSync(file, renderCrdYaml(kind));
  console.log(`wrote ${file}`);
}
