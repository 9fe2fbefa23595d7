// `stylekube export --onnx <model>`: adds model.onnx (and its entry in
// model.json and the manifest) to a model exported before ONNX export
// existed, or rewrites it. <model> is the model folder (…/model/) or the
// training output above it, on s3:// or file:// or a local path.
import { isNotFound, joinUri, normalizeUri, openStore, type ObjectStore } from "../common/storage/index.js";
import { addOnnxToModel, modelPrefix } from "../trainer/export/model-export.js";

const USAGE =
  "usage: stylekube export --onnx <model-uri>   (the model/ folder or the training output above it)";

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
  const positional = args.filter((a) => !a.startsWith("--"));
  const unknown = args.filter((a) => a.startsWith("--") && a !== "--onnx");
  if (!args.includes("--onnx") || positional.length !== 1 || unknown.length > 0) {
    console.error(
      unknown.length > 0
        ? `stylekube export: unknown flag ${unknown[0]}\n${USAGE}`
        : `stylekube export: ${USAGE}`,
    );
    return 2;
  }
  let uri: string;
  try {
    uri = normalizeUri(positional[0]!, { allowPlainPaths: true });
  } catch (err) {
    console.error(`stylekube export: <model-uri>: ${(err as Error).message}`);
    return 2;
  }
  const model = await findModel(store, uri);
  const description = await addOnnxToModel(store, model);
  console.log(
    `${joinUri(model, description.onnx?.file ?? "model.onnx")}: opset ${description.onnx?.opset}, input ${description.onnx?.input} [N, 3, H, W] in [0, 255], output ${description.onnx?.output}`,
  );
  return 0;
}
