// `stylekube export --onnx <model> [--triton <repository> --name <style>]`:
// adds model.onnx (and its entry in model.json and the manifest) to a model
// exported before ONNX export existed, or rewrites it; with --triton, also
// copies it into a Triton (or KServe) model repository as
// <repository>/<style>/1/model.onnx with its config.pbtxt. <model> is the
// model folder (…/model/) or the training output above it, on s3://,
// file:// or a local path.
import { isNotFound, joinUri, normalizeUri, openStore, type ObjectStore } from "../common/storage/index.js";
import { addOnnxToModel, modelPrefix } from "../model/model-export.js";

const USAGE =
  "usage: stylekube export --onnx <model-uri> [--triton <repository-uri> --name <style>]\n" +
  "  <model-uri>  the model/ folder or the training output above it (s3://, file:// or a path)\n" +
  "  --triton     also write <repository>/<style>/1/model.onnx and <style>/config.pbtxt";

/** Triton's model configuration for model.onnx: any batch, height and width (multiples of 4). */
export function tritonConfig(name: string, input: string, output: string): string {
  return [
    `name: "${name}"`,
    `platform: "onnxruntime_onnx"`,
    // 0: the batch is part of the tensor shape (the model's own dynamic first axis).
    `max_batch_size: 0`,
    `input [ { name: "${input}", data_type: TYPE_FP32, dims: [ -1, 3, -1, -1 ] } ]`,
    `output [ { name: "${output}", data_type: TYPE_FP32, dims: [ -1, 3, -1, -1 ] } ]`,
    "",
  ].join("\n");
}

/** Triton model names: what a folder name and a URL path segment can hold. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

interface ExportArgs {
  model: string;
  triton?: { repository: string; name: string };
}

function parseArgs(args: string[]): ExportArgs | string {
  const positional: string[] = [];
  let onnx = false;
  let repository: string | undefined;
  let name: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === "--onnx") onnx = true;
    else if (a === "--triton") repository = args[++i];
    else if (a === "--name") name = args[++i];
    else if (a.startsWith("--")) return `unknown flag ${a}`;
    else positional.push(a);
  }
  if (!onnx) return "--onnx is required (the only export format)";
  if (positional.length !== 1) return "give exactly one <model-uri>";
  if ((repository === undefined) !== (name === undefined)) return "--triton and --name go together";
  if (name !== undefined && !MODEL_NAME.test(name)) {
    return `--name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (a Triton model name)`;
  }
  let model: string;
  try {
    model = normalizeUri(positional[0]!, { allowPlainPaths: true });
    if (repository !== undefined) repository = normalizeUri(repository, { allowPlainPaths: true });
  } catch (err) {
    return (err as Error).message;
  }
  return repository !== undefined && name !== undefined ? { model, triton: { repository, name } } : { model };
}

/** The model folder: the URI itself if it holds model.json, else its model/ subfolder. */
async function findModel(store: ObjectStore, uri: string): Promise<string> {
  const folder = uri.endsWith("/") ? uri : `${uri}/`;
  for (const candidate of [folder, modelPrefix(folder)]) {
    try {
      await store.getBytes(joinUri(candidate, "model.json"));
      return candidate;
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
  throw new Error(`no model.json under ${folder} or ${modelPrefix(folder)}`);
}

export async function runExportCommand(args: string[], store: ObjectStore = openStore()): Promise<number> {
  const parsed = parseArgs(args);
  if (typeof parsed === "string") {
    console.error(`stylekube export: ${parsed}\n${USAGE}`);
    return 2;
  }
  const model = await findModel(store, parsed.model);
  const description = await addOnnxToModel(store, model);
  const onnx = description.onnx!;
  console.log(
    `${joinUri(model, onnx.file)}: opset ${onnx.opset}, input ${onnx.input} [N, 3, H, W] in [0, 255], output ${onnx.output}`,
  );
  if (parsed.triton) {
    const { repository, name } = parsed.triton;
    const folder = repository.endsWith("/") ? repository : `${repository}/`;
    await store.put(
      joinUri(folder, name, "1", "model.onnx"),
      await store.getBytes(joinUri(model, onnx.file)),
    );
    await store.put(
      joinUri(folder, name, "config.pbtxt"),
      Buffer.from(tritonConfig(name, onnx.input, onnx.output)),
    );
    console.log(`${joinUri(folder, name)}/: Triton model ${name} (1/model.onnx, config.pbtxt)`);
  }
  return 0;
}
