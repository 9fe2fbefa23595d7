// The finished model as the server loads it: the network's configuration and
// its weights, written manifest-last under <output>/model/.
//   model.json   { format, normalization, upsampling, parameters: [{name, shape}], … }
//   weights.bin  float32 little-endian, parameters concatenated in order
import { z } from "zod";
import { joinUri, readManifest, writeWithManifest, type ObjectStore } from "../common/storage/index.js";
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
});
export type ModelDescription = z.infer<typeof ModelDescriptionSchema>;

const ManifestDataSchema = z.object({ kind: z.literal("model") });

export function modelPrefix(output: string): string {
  return joinUri(output, "model/");
}

export async function exportModel(
  store: ObjectStore,
  output: string,
  net: TransformerNet,
  info: Pick<ModelDescription, "trainedSteps" | "style" | "imageSize" | "specHash" | "finalLoss">,
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
  const prefix = modelPrefix(output);
  await writeWithManifest(
    store,
    prefix,
    [
      { name: "model.json", body: JSON.stringify(description, null, 1), contentType: "application/json" },
      {
        name: "weights.bin",
        body: float32Bytes(
          await Promise.all(
            [...net.params.values(), ...net.buffers.values()].map((t) => t.data() as Promise<Float32Array>),
          ),
        ),
        contentType: "application/octet-stream",
      },
    ],
    { kind: "model" },
  );
  return prefix;
}

/** Load an exported model into a new network (for serving); verifies checksums. */
export async function loadModel(
  store: ObjectStore,
  uri: string,
): Promise<{ net: TransformerNet; description: ModelDescription }> {
  await readManifest(store, uri, ManifestDataSchema, { verify: "sha256" });
  const description = ModelDescriptionSchema.parse(
    JSON.parse((await store.getBytes(joinUri(uri, "model.json"))).toString()),
  );
  const floats = float32FromBytes(await store.getBytes(joinUri(uri, "weights.bin")));
  const net = new TransformerNet({
    normalization: description.normalization,
    upsampling: description.upsampling,
  });
  let offset = 0;
  const take = (list: { name: string; shape: number[] }[]) => {
    const out = new Map<string, NamedArray>();
    for (const p of list) {
      const size = p.shape.reduce((a, b) => a * b, 1);
      out.set(p.name, { shape: p.shape, data: floats.subarray(offset, offset + size) });
      offset += size;
    }
    return out;
  };
  assignNamed(net.params, take(description.parameters));
  if (description.buffers.length > 0) assignNamed(net.buffers, take(description.buffers));
  if (offset !== floats.length) throw new Error(`model ${uri}: weights.bin size does not match model.json`);
  return { net, description };
}
