import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import type { NamedArray } from "../../model/parameters.js";
import {
  type ConvWeights,
  checkConvWeights,
  kerasLayerName,
  type VggConvName,
  VGG16_CONVS,
} from "./vgg16.js";

const WeightsManifestEntrySchema = z.object({
  name: z.string(),
  shape: z.array(z.int().min(0)),
  dtype: z.enum(["float32", "int32", "bool", "string", "complex64"]),
  group: z.enum(["model", "optimizer"]).optional(),
  quantization: z
    .object({
      scale: z.number().optional(),
      min: z.number().optional(),
      dtype: z.enum(["uint16", "uint8", "float16"]),
    })
    .optional(),
});

/** The parts of a TensorFlow.js layers-model model.json that we read; the topology is not needed (VGG-16's is fixed). */
export const ModelJsonSchema = z.object({
  format: z.string().optional(),
  modelTopology: z.unknown().optional(),
  weightsManifest: z
    .array(
      z.object({
        paths: z.array(z.string().min(1)).min(1),
        weights: z.array(WeightsManifestEntrySchema),
      }),
    )
    .min(1),
});
export type ModelJson = z.infer<typeof ModelJsonSchema>;

/** Reads one weights file named in the manifest, relative to model.json. */
export type ReadWeightsFile = (relativePath: string) => Promise<Uint8Array>;

function concat(parts: readonly Uint8Array[]): ArrayBuffer {
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Reads VGG-16 conv weights out of a TensorFlow.js layers model (as
 * tensorflowjs_converter writes Keras's VGG16): model.json's weightsManifest
 * names each weight (`block1_conv1/kernel`, possibly under a model prefix
 * such as `vgg16/`) and where its bytes sit in the concatenated .bin files of
 * its group. Decoding (including quantised weights) is tfjs-core's own
 * io.decodeWeights, so no tfjs-layers is needed. Kernels are HWIO already.
 */
export async function readTfjsLayersModel(
  modelJsonText: string,
  readWeightsFile: ReadWeightsFile,
  where: string,
): Promise<Map<VggConvName, ConvWeights>> {
  let json: unknown;
  try {
    json = JSON.parse(modelJsonText);
  } catch (err) {
    throw new Error(`${where}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ModelJsonSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(`${where}: not a TensorFlow.js model.json: ${z.prettifyError(parsed.error)}`);

  const arrays = new Map<string, NamedArray>();
  for (const group of parsed.data.weightsManifest) {
    const data = concat(await Promise.all(group.paths.map((p) => readWeightsFile(p))));
    const expected = group.weights.reduce((n, w) => {
      const count = w.shape.reduce((a, b) => a * b, 1);
      const bytes = w.quantization ? (w.quantization.dtype === "uint8" ? 1 : 2) : 4;
      return n + count * bytes;
    }, 0);
    if (data.byteLength !== expected) {
      throw new Error(
        `${where}: weight files ${group.paths.join(", ")} hold ${data.byteLength} bytes, the manifest describes ${expected}`,
      );
    }
    const tensors = tf.io.decodeWeights(data, group.weights);
    for (const [name, t] of Object.entries(tensors)) {
      arrays.set(name, { shape: [...t.shape], data: Float32Array.from((await t.data()) as Float32Array) });
      t.dispose();
    }
  }

  const names = [...arrays.keys()];
  const find = (layer: string, kind: "kernel" | "bias"): NamedArray => {
    const re = new RegExp(`(^|/)${escapeRegExp(layer)}/${kind}(:\\d+)?$`);
    const hits = names.filter((n) => re.test(n));
    const [hit] = hits;
    if (hits.length !== 1 || hit === undefined) {
      throw new Error(
        hits.length === 0
          ? `${where}: no weight ${layer}/${kind} in the manifest; expected a Keras VGG-16 converted with tensorflowjs_converter`
          : `${where}: several weights match ${layer}/${kind}: ${hits.join(", ")}`,
      );
    }
    const a = arrays.get(hit);
    if (a === undefined) throw new Error(`${where}: ${hit} missing`);
    return a;
  };

  const out = new Map<VggConvName, ConvWeights>();
  for (const conv of VGG16_CONVS) {
    const layer = kerasLayerName(conv);
    const w: ConvWeights = { kernel: find(layer, "kernel"), bias: find(layer, "bias") };
    checkConvWeights(conv, w, where);
    out.set(conv.name, w);
  }
  return out;
}
