// `stylekube validate -f FILE`: check manifests the way the apiserver and the
// operator will, before `kubectl apply`.
import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { parseAllDocuments } from "yaml";
import { validateResource } from "../../common/api/validate.js";

export function registerValidateCommand(program: Command): void {
  program
    .command("validate")
    .description("check StyleTraining and StyleServer manifests the way the apiserver will")
    .requiredOption(
      "-f, --filename <file>",
      "a YAML file with StyleTraining or StyleServer objects (- for stdin)",
    )
    .action((options: { filename: string }) => {
      process.exitCode = validateManifestFile(options.filename);
    });
}

export function validateManifestFile(file: string): number {
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
