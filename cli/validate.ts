// `stylekube validate -f FILE`: check manifests the way the apiserver and the
// operator will, before `kubectl apply`.
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { validateResource } from "../common/api/validate.js";

export function validateManifestFile(args: string[]): number {
  const i = args.findIndex((a) => a === "-f" || a === "--filename");
  const file = i >= 0 ? args[i + 1] : undefined;
  if (file === undefined) {
    console.error(
      "stylekube validate: missing -f FILE (a YAML file with StyleTraining or StyleServer objects)",
    );
    return 2;
  }
  const text = file === "-" ? readFileSync(0, "utf8") : readFileSync(file, "utf8");
  let failed = 0;
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      console.error(`${file}: ${doc.errors[0]?.message ?? "invalid YAML"}`);
      failed++;
      continue;
    }
    const obj: unknown = doc.toJSON();
    if (obj === null) continue;
    const name = (obj as { metadata?: { name?: string } }).metadata?.name ?? "(unnamed)";
    const result = validateResource(obj);
    if (result.ok) console.log(`${result.value.kind}/${name}: valid`);
    else {
      failed++;
      for (const e of result.errors) console.error(`${name}: ${e.field}: ${e.message}`);
    }
  }
  return failed === 0 ? 0 : 1;
}
