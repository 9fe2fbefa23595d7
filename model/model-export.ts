// The finished model as the server loads it: the network's configuration and
// its weights, written manifest-last under <output>/model/.
//   model.json   { format, normalization, upsampling, parameters: [{name, shape}], … }
//   weights.bin  float32 little-endian, parameters concatenated in order
//   model.onnx   the same network as a self-contained ONNX model (model/onnx/export.ts)
import { z } from "zod";
import { packageVersion } from "../common/package-version.js";
import { joinUri, readManifest, writeWithManifest, type ObjectStore } from "../common/storage/index.js";
import { modelPrefix } from "../common/storage/training-layout.js";
import { ONNX_FILE, ONNX_INPUT, ONNX_OPSET, ONNX_OUTPUT, transformerNetOnnx } from "./onnx/export.js";
import { TransformerNet } from "./transformer-net.js";
import { assignNamed, float32Bytes, float32FromBytes, type NamedArray } from "./parameters.js";

export const MODEL_FORMAT = "stylekube.io/transformer-net/v1";

export const ModelDescriptionSchema = z.object({
  format: z.literal(MODEL_FORMAT),
  normalization: z.enum(["instance", "batch"]),
  upsampling: z.enum(["upsample-conv", "transpose"]),
  parameters: z.array(z.object({ name: z.string(), shape: z.array(z.int().min(0)) })),
  /** Batch norm's running statistics (empty for instance norm). */
  buffers: z.array(z.object({ name: z.string(), shape: z.array(z.int().min(0)) })).default([]),
  trainedSteps: z.int().min(0),
  style: z.string(),
  imageSize: z.int(),
  /** sha256 of the training spec (JSON), to tell which run produced the model. */
  specHash: z.string().optional(),
  /** Loss terms of the last step (rank 0's batch). */
  finalLoss: z
    .object({ total: z.number(), content: z.number(), style: z.number(), tv: z.number() })
    .optional(),
  createdAt: z.iso.datetime({ offset: true }),
  /** The ONNX file beside weights.bin (absent in models exported before it existed: `stylekube export --onnx` adds it). */
  onnx: z
    .object({
      file: z.string(),
      opset: z.int().min(17),
      input: z.string(),
      output: z.string(),
    })
    .optional(),
});
export type ModelDescription = z.infer<typeof ModelDescriptionSchema>;

const ManifestDataSchema = z.object({ kind: z.literal("model") });

export async function exportModel(
  store: ObjectStore,
  output: string,
  net: TransformerNet,
  info: Pick<ModelDescription, "trainedSteps" | "style" | "imageSize" | "specHash" | "finalLoss">,
  options: ModelFileOptions = {},
): Promise<string> {
  const description: ModelDescription = {
    format: MODEL_FORMAT,
    normalization: net.options.normalization,
    upsampling: net.options.upsampling,
    parameters: [...net.params].map(([name, v]) => ({ name, shape: [...v.shape] })),
    buffers: [...net.buffers].map(([name, v]) => ({ name, shape: [...v.shape] })),
    ...info,
    createdAt: new Date().toISOString(),
  };
  const weights = new Map<string, NamedArray>();
  for (const [name, t] of [...net.params, ...net.buffers]) {
    weights.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array });
  }
  const prefix = modelPrefix(output);
  await writeModelFiles(store, prefix, description, weights, options);
  return prefix;
}

/** The ONNX model of a description and its weights, described in the description's `onnx` field. */
export function onnxModelFile(
  description: ModelDescription,
  weights: ReadonlyMap<string, NamedArray>,
): { description: ModelDescription; bytes: Uint8Array } {
  const bytes = transformerNetOnnx({
    normalization: description.normalization,
    upsampling: description.upsampling,
    weights,
    producerVersion: packageVersion(),
    properties: {
      format: description.format,
      style: description.style,
      trainedSteps: String(description.trainedSteps),
      imageSize: String(description.imageSize),
    },
  });
  return {
    bytes,
    description: {
      ...description,
      onnx: { file: ONNX_FILE, opset: ONNX_OPSET, input: ONNX_INPUT, output: ONNX_OUTPUT },
    },
  };
}

export interface ModelFileOptions {
  /**
   * Write model.onnx (default). Without it the model is half the size (the
   * models committed to this repository); `stylekube export --onnx` adds it.
   */
  onnx?: boolean;
}

/** model.json, weights.bin and (unless asked not to) model.onnx, manifest last. */
async function writeModelFiles(
  store: ObjectStore,
  prefix: string,
  description: ModelDescription,
  weights: ReadonlyMap<string, NamedArray>,
  options: ModelFileOptions = {},
): Promise<void> {
  const onnx = options.onnx === false ? undefined : onnxModelFile(description, weights);
  await writeWithManifest(
    store,
    prefix,
    [
      {
        name: "model.json",
        body: JSON.stringify(onnx?.description ?? description, null, 1),
        contentType: "application/json",
      },
      {
        name: "weights.bin",
        body: float32Bytes(
          [...description.parameters, ...description.buffers].map((p) => weightsOf(weights, p.name)),
        ),
        contentType: "application/octet-stream",
      },
      ...(onnx === undefined
        ? []
        : [{ name: ONNX_FILE, body: Buffer.from(onnx.bytes), contentType: "application/octet-stream" }]),
    ],
    { kind: "model" },
  );
}

function weightsOf(weights: ReadonlyMap<string, NamedArray>, name: string): Float32Array {
  const w = weights.get(name);
  if (w === undefined) throw new Error(`no weights for ${name}`);
  return w.data;
}

/**
 * Reads an exported model's description and named weights (checksums
 * verified), without building a network.
 */
export async function readModelFiles(
  store: ObjectStore,
  uri: string,
): Promise<{ description: ModelDescription; weights: Map<string, NamedArray> }> {
  await readManifest(store, uri, ManifestDataSchema, { verify: "sha256" });
  const description = ModelDescriptionSchema.parse(
    JSON.parse((await store.getBytes(joinUri(uri, "model.json"))).toString()),
  );
  const floats = float32FromBytes(await store.getBytes(joinUri(uri, "weights.bin")));
  const weights = new Map<string, NamedArray>();
  let offset = 0;
  for (const p of [...description.parameters, ...description.buffers]) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    if (offset + size > floats.length)
      throw new Error(`model ${uri}: weights.bin is shorter than model.json says`);
    weights.set(p.name, { shape: p.shape, data: floats.subarray(offset, offset + size) });
    offset += size;
  }
  if (offset !== floats.length) throw new Error(`model ${uri}: weights.bin size does not match model.json`);
  return { description, weights };
}

/**
 * Adds model.onnx to an exported model that lacks it (or rewrites it):
 * `stylekube export --onnx`. Rewrites the three files and the manifest.
 */
export async function addOnnxToModel(store: ObjectStore, uri: string): Promise<ModelDescription> {
  const { description, weights } = await readModelFiles(store, uri);
  const { onnx: _previous, ...withoutOnnx } = description;
  await writeModelFiles(store, uri, withoutOnnx, weights);
  return onnxModelFile(withoutOnnx, weights).description;
}

/** Load an exported model into a new network (for serving); verifies checksums. */
export async function loadModel(
  store: ObjectStore,
  uri: string,
): Promise<{ net: TransformerNet; description: ModelDescription }> {
  const { description, weights } = await readModelFiles(store, uri);
  const net = new TransformerNet({
    normalization: description.normalization,
    upsampling: description.upsampling,
  });
  assignModelWeights(net, description, weights);
  return { net, description };
}

/** Copies an exported model's weights (and batch norm's running statistics) into a network of its architecture. */
export function assignModelWeights(
  net: TransformerNet,
  description: ModelDescription,
  weights: ReadonlyMap<string, NamedArray>,
): void {
  const take = (list: { name: string }[]) => new Map(list.map((p) => [p.name, weights.get(p.name)!]));
  assignNamed(net.params, take(description.parameters));
  if (description.buffers.length > 0) assignNamed(net.buffers, take(description.buffers));
}
