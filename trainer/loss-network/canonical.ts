/**
 * stylekube's own VGG-16 weights file, as `stylekube weights pull vgg16`
 * writes it: one safetensors file with the 20 tensors of VGG-16 up to
 * relu4_3, named `conv1_1.weight`, `conv1_1.bias`, … `conv4_3.bias` in
 * forward order, kernels in PyTorch's OIHW layout, float32; its metadata
 * names the input convention the weights expect, so the file carries all it
 * takes to use it.
 *
 * The digest of a set of VGG-16 weights (`vgg16Digest`) is the SHA-256 of
 * exactly those tensors' bytes concatenated in that order (little-endian
 * float32, kernels OIHW) — which is also the data section of the file, so
 * `tail -c +$((9 + header length))` of a pulled file hashes to it.
 */
import { createHash } from "node:crypto";
import type { NamedArray } from "../model/parameters.js";
import { parseSafetensors, serializeSafetensors } from "./safetensors.js";
import { torchvisionConvs } from "./torchvision-safetensors.js";
import { hwioToOihw, oihwToHwio } from "./transpose.js";
import {
  type ConvWeights,
  checkConvWeights,
  type InputConvention,
  type VggConvName,
  VGG16_CONVS,
} from "./vgg16.js";

/** `__metadata__.format` of a canonical file. */
export const CANONICAL_FORMAT = "stylekube-vgg16-relu4_3";

const CONVENTIONS: readonly InputConvention[] = ["caffe", "torch"];

export function isInputConvention(v: string | undefined): v is InputConvention {
  return v !== undefined && (CONVENTIONS as readonly string[]).includes(v);
}

/** The canonical tensors (names, order, OIHW kernels) of a set of VGG-16 weights. */
export function canonicalTensors(weights: ReadonlyMap<VggConvName, ConvWeights>): Map<string, NamedArray> {
  const out = new Map<string, NamedArray>();
  for (const conv of VGG16_CONVS) {
    const w = weights.get(conv.name);
    if (w === undefined) throw new Error(`no weights for ${conv.name}`);
    checkConvWeights(conv, w, "VGG-16 weights");
    out.set(`${conv.name}.weight`, hwioToOihw(w.kernel));
    out.set(`${conv.name}.bias`, w.bias);
  }
  return out;
}

function digestOf(tensors: ReadonlyMap<string, NamedArray>): string {
  const hash = createHash("sha256");
  for (const t of tensors.values())
    hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return hash.digest("hex");
}

/** SHA-256 over the canonical tensors (see the file comment for exactly what is hashed). */
export function vgg16Digest(weights: ReadonlyMap<VggConvName, ConvWeights>): string {
  return digestOf(canonicalTensors(weights));
}

export interface CanonicalMetadata {
  convention: InputConvention;
  /** Where the weights came from, for people reading the file later. */
  source: string;
}

/** The canonical file's bytes; `sha256` in its metadata is `vgg16Digest(weights)`. */
export function serializeCanonicalVgg16(
  weights: ReadonlyMap<VggConvName, ConvWeights>,
  meta: CanonicalMetadata,
): { bytes: Uint8Array; sha256: string } {
  const tensors = canonicalTensors(weights);
  const sha256 = digestOf(tensors);
  const bytes = serializeSafetensors(tensors, {
    format: CANONICAL_FORMAT,
    convention: meta.convention,
    layout: "OIHW",
    source: meta.source,
    sha256,
  });
  return { bytes, sha256 };
}

export interface Vgg16SafetensorsWeights {
  weights: Map<VggConvName, ConvWeights>;
  /** From the file's metadata; undefined when it names none (torchvision state dicts). */
  convention: InputConvention | undefined;
  metadata: Record<string, string>;
  /** Which naming the file used. */
  kind: "canonical" | "torchvision";
}

function canonicalConvs(
  tensors: ReadonlyMap<string, NamedArray>,
  where: string,
): Map<VggConvName, ConvWeights> {
  const out = new Map<VggConvName, ConvWeights>();
  for (const conv of VGG16_CONVS) {
    const kernel = tensors.get(`${conv.name}.weight`);
    const bias = tensors.get(`${conv.name}.bias`);
    if (kernel === undefined || bias === undefined) {
      throw new Error(`${where}: no tensor ${conv.name}.${kernel === undefined ? "weight" : "bias"}`);
    }
    const want = [conv.outChannels, conv.inChannels, 3, 3];
    if (kernel.shape.length !== 4 || kernel.shape.some((d, i) => d !== want[i])) {
      throw new Error(
        `${where}: ${conv.name}.weight has shape [${kernel.shape.join(",")}], VGG-16 needs OIHW [${want.join(",")}]`,
      );
    }
    const w: ConvWeights = { kernel: oihwToHwio(kernel), bias };
    checkConvWeights(conv, w, where);
    out.set(conv.name, w);
  }
  return out;
}

/**
 * Reads VGG-16 from a safetensors file: the canonical naming
 * (`conv1_1.weight`) or a torchvision state dict (`features.0.weight`).
 * The input convention comes from `__metadata__.convention` when present.
 */
export function readVgg16Safetensors(bytes: Uint8Array, where: string): Vgg16SafetensorsWeights {
  const { tensors, metadata } = parseSafetensors(bytes, where);
  const named = metadata["convention"];
  if (named !== undefined && !isInputConvention(named)) {
    throw new Error(
      `${where}: __metadata__.convention is "${named}"; it must be caffe or torch (or absent for torchvision's)`,
    );
  }
  const kind = tensors.has("conv1_1.weight") ? "canonical" : "torchvision";
  const weights = kind === "canonical" ? canonicalConvs(tensors, where) : torchvisionConvs(tensors, where);
  if (kind === "canonical" && metadata["sha256"] !== undefined) {
    // The file's own tensors are already canonical (order, OIHW): hash them as they are.
    const inOrder = new Map<string, NamedArray>();
    for (const conv of VGG16_CONVS) {
      for (const name of [`${conv.name}.weight`, `${conv.name}.bias`]) {
        const t = tensors.get(name);
        if (t !== undefined) inOrder.set(name, t);
      }
    }
    const actual = digestOf(inOrder);
    if (actual !== metadata["sha256"]) {
      throw new Error(
        `${where}: tensors hash to sha256 ${actual}, the file's metadata says ${metadata["sha256"]}; the file is damaged — pull it again`,
      );
    }
  }
  return { weights, convention: named, metadata, kind };
}
