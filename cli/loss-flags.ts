// The loss flags `stylekube loss` and `stylekube stylize --optimize` share:
// the style image and its size, the VGG-16 weights and the λs.
import type { LossLayers, LossWeights } from "../trainer/losses/perceptual-loss.js";

export const lossFlags = {
  options: {
    style: { type: "string" },
    "style-size": { type: "string" },
    "vgg-weights": { type: "string" },
    "content-weight": { type: "string" },
    "style-weight": { type: "string" },
    "tv-weight": { type: "string" },
  },
  usage: `Loss:
  --style FILE               the style image (painting)
  --style-size N             longer side of the style image for its Gram matrices (default 256)
  --vgg-weights PATH|URI     VGG-16 weights (.h5, .safetensors, model.json); default $STYLEKUBE_VGG16_WEIGHTS,
                             else the file \`stylekube weights pull vgg16\` cached on this machine
  --content-weight X         λc (default: the training default)
  --style-weight X           λs (default: the training default)
  --tv-weight X              λTV (default: the training default)
  Layers are the paper's: content relu2_2; style relu1_2, relu2_2, relu3_3, relu4_3.`,
} as const;

export interface LossFlagValues {
  style?: string | undefined;
  "style-size"?: string | undefined;
  "vgg-weights"?: string | undefined;
  "content-weight"?: string | undefined;
  "style-weight"?: string | undefined;
  "tv-weight"?: string | undefined;
}

export interface ParsedLossFlags {
  style: string;
  styleSize: number;
  vggWeights: string | undefined;
  layers: LossLayers;
  weights: LossWeights;
}

function weight(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0)
    throw new Error(`--${flag} must be a number ≥ 0, got ${JSON.stringify(value)}`);
  return n;
}

/** Validates the flags; errors name the flag and what it accepts. */
export function parseLossFlags(
  values: LossFlagValues,
  defaults: { layers: LossLayers; weights: LossWeights },
): ParsedLossFlags {
  if (values.style === undefined) throw new Error("--style <painting> is required");
  const styleSize = Number(values["style-size"] ?? "256");
  if (!Number.isInteger(styleSize) || styleSize < 16 || styleSize > 4096)
    throw new Error(`--style-size must be a whole number from 16 to 4096, got ${values["style-size"]}`);
  return {
    style: values.style,
    styleSize,
    vggWeights: values["vgg-weights"],
    layers: defaults.layers,
    weights: {
      content: weight("content-weight", values["content-weight"], defaults.weights.content),
      style: weight("style-weight", values["style-weight"], defaults.weights.style),
      tv: weight("tv-weight", values["tv-weight"], defaults.weights.tv),
    },
  };
}
