// `stylekube export --onnx <model> [--triton <repository> --name <style>]`:
// adds model.onnx (and its entry in model.json and the manifest) to a model
// exported before ONNX export existed, or rewrites it; with --triton, also
// copies it into a Triton (or KServe) model repository as
// <repository>/<style>/1/model.onnx with its config.pbtxt. <model> is the
// model folder (…/model/) or the training output above it, on s3://,
// file:// or a local path.
import { isNotFound, joinUri, normalizeUri, type ObjectStore } from "../common/storage/index.js";
import { modelPrefix } from "../common/storage/training-layout.js";
import { addOnnxToModel } from "../model/model-export.js";

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

export interface ExportOptions {
  onnx: boolean;
  triton?: string;
  name?: string;
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

/** `stylekube export` once its flags are parsed; returns the exit code. */
export async function exportModelCommand(
  uri: string,
  options: ExportOptions,
  store: ObjectStore,
): Promise<number> {
  if (!options.onnx) {
    console.error("stylekube export: --onnx is required (the only export format)");
    return 2;
  }
  if ((options.triton === undefined) !== (options.name === undefined)) {
    console.error("stylekube export: --triton and --name go together");
    return 2;
  }
  try {
    const model = await findModel(store, normalizeUri(uri, { allowPlainPaths: true }));
    const description = await addOnnxToModel(store, model);
    const onnx = description.onnx!;
    console.log(
      `${joinUri(model, onnx.file)}: opset ${onnx.opset}, input ${onnx.input} [N, 3, H, W] in [0, 255], output ${onnx.output}`,
    );
    if (options.triton !== undefined && options.name !== undefined) {
      const folder = normalizeUri(options.triton.endsWith("/") ? options.triton : `${options.triton}/`, {
        allowPlainPaths: true,
      });
      const name = options.name;
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
  } catch (err) {
    console.error(`stylekube export: ${(err as Error).message}`);
    return 1;
  }
}
