// `stylekube export --onnx <model> [--triton <repository> --name <style>]`: the
// command's flags. The work is in ../export.ts, loaded only when it runs, so the
// CLI starts without tfjs or the AWS SDK (and in images that lack them).
import { type Command, InvalidArgumentError } from "commander";
import type { ExportOptions } from "../export.js";

/** Triton model names: what a folder name and a URL path segment can hold. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

function tritonModelName(value: string): string {
  if (!MODEL_NAME.test(value))
    throw new InvalidArgumentError("use letters, digits, '.', '_' and '-' (a Triton model name).");
  return value;
}

export function registerExportCommand(program: Command): void {
  program
    .command("export")
    .description(
      "add model.onnx to a trained model (and optionally copy it into a Triton/KServe model repository)",
    )
    .argument("<model-uri>", "the model/ folder or the training output above it (s3://, file:// or a path)")
    .option("--onnx", "export ONNX (the only export format; required)", false)
    .option(
      "--triton <repository-uri>",
      "also write <repository>/<name>/1/model.onnx and <name>/config.pbtxt",
    )
    .option("--name <style>", "the Triton model name (with --triton)", tritonModelName)
    .action(async (uri: string, options: ExportOptions) => {
      const [{ openStore }, { exportModelCommand }] = await Promise.all([
        import("../../common/storage/index.js"),
        import("../export.js"),
      ]);
      const store = openStore();
      try {
        process.exitCode = await exportModelCommand(uri, options, store);
      } finally {
        await store.close();
      }
    });
}
