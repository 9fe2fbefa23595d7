import type { NamedArray } from "../model/parameters.js";
import { parseSafetensors } from "./safetensors.js";
import { oihwToHwio } from "./transpose.js";
import { type ConvWeights, checkConvWeights, type VggConvName, VGG16_CONVS } from "./vgg16.js";

/**
 * Finds `features.<index>.<kind>` among the keys, allowing a prefix such as
 * `vgg.` or `model.` (state dicts saved from a wrapping module).
 */
function findKey(keys: readonly string[], index: number, kind: "weight" | "bias", where: string): string {
  const suffix = `features.${index}.${kind}`;
  const hits = keys.filter((k) => k === suffix || k.endsWith(`.${suffix}`));
  if (hits.length === 1 && hits[0] !== undefined) return hits[0];
  if (hits.length === 0) {
    throw new Error(
      `${where}: no tensor ${suffix}; expected a torchvision VGG-16 state dict (keys features.0.weight … features.21.bias)`,
    );
  }
  throw new Error(`${where}: several tensors end in ${suffix}: ${hits.join(", ")}`);
}

/**
 * Reads torchvision VGG-16 weights saved as safetensors (e.g. `save_file(
 * vgg16(weights="IMAGENET1K_V1").state_dict(), ...)`, or timm's
 * vgg16.tv_in1k). Kernels are transposed from OIHW to HWIO. Their input
 * convention is "torch" (RGB 0–1, ImageNet mean/std).
 */
export function readTorchvisionSafetensors(bytes: Uint8Array, where: string): Map<VggConvName, ConvWeights> {
  return torchvisionConvs(parseSafetensors(bytes, where).tensors, where);
}

/** The ten convs out of a parsed torchvision state dict. */
export function torchvisionConvs(
  tensors: ReadonlyMap<string, NamedArray>,
  where: string,
): Map<VggConvName, ConvWeights> {
  const keys = [...tensors.keys()];
  const out = new Map<VggConvName, ConvWeights>();
  for (const conv of VGG16_CONVS) {
    const wKey = findKey(keys, conv.torchIndex, "weight", where);
    const bKey = findKey(keys, conv.torchIndex, "bias", where);
    const weight = tensors.get(wKey);
    const bias = tensors.get(bKey);
    if (weight === undefined || bias === undefined) throw new Error(`${where}: ${conv.name} missing`);
    const want = [conv.outChannels, conv.inChannels, 3, 3];
    if (weight.shape.length !== 4 || weight.shape.some((d, i) => d !== want[i])) {
      throw new Error(
        `${where}: ${wKey} has shape [${weight.shape.join(",")}], VGG-16 ${conv.name} needs OIHW [${want.join(",")}]`,
      );
    }
    const w: ConvWeights = { kernel: oihwToHwio(weight), bias };
    checkConvWeights(conv, w, where);
    out.set(conv.name, w);
  }
  return out;
}
