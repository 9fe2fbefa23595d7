// Where a StyleTraining's outputs live under its spec.output prefix. The
// trainer writes them, the operator points StyleServers at the model, the
// dashboard lists and proxies the previews, the CLI and the demo read
// checkpoints: all of them name these objects through this one module, so a
// change of layout cannot leave one of them looking in the old place.
//
//   <output>checkpoints/step-00001000/   a checkpoint (its files, manifest.json last)
//   <output>previews/step-00001000.jpg   rank 0's fixed photo stylised at that step
//   <output>model/                       the exported model (model.json, weights.bin, model.onnx, manifest.json)
import { MANIFEST_NAME } from "./manifest.js";
import type { ObjectStore } from "./storage.js";
import { joinUri } from "./uri.js";

export const CHECKPOINTS_FOLDER = "checkpoints/";
export const PREVIEWS_FOLDER = "previews/";
export const MODEL_FOLDER = "model/";

/** Zero-padded, so listing order (lexicographic in S3) is step order. */
const STEP_DIGITS = 8;

/** Image types a preview may have, by file extension. */
export const PREVIEW_TYPES = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  webp: "image/webp",
} as const;
export type PreviewExtension = keyof typeof PREVIEW_TYPES;

/** "step-00001000": the name of a step's checkpoint folder and preview file. */
export function stepName(step: number): string {
  if (!Number.isSafeInteger(step) || step < 0)
    throw new RangeError(`step must be a non-negative integer, got ${step}`);
  return `step-${String(step).padStart(STEP_DIGITS, "0")}`;
}

export function checkpointsPrefix(output: string): string {
  return joinUri(output, CHECKPOINTS_FOLDER);
}

export function checkpointPrefix(output: string, step: number): string {
  return joinUri(output, CHECKPOINTS_FOLDER, `${stepName(step)}/`);
}

/**
 * The step of a checkpoint's manifest, from a key relative to
 * checkpointsPrefix ("step-00001000/manifest.json"); undefined for anything
 * else (the checkpoint's other files, objects of an unfinished write).
 */
export function checkpointManifestStep(relativeKey: string): number | undefined {
  const m = /^step-(\d{8,})\/([^/]+)$/.exec(relativeKey);
  return m && m[2] === MANIFEST_NAME ? Number(m[1]) : undefined;
}

export function previewsPrefix(output: string): string {
  return joinUri(output, PREVIEWS_FOLDER);
}

export function previewUri(output: string, step: number, extension: PreviewExtension = "jpg"): string {
  return joinUri(output, PREVIEWS_FOLDER, `${stepName(step)}.${extension}`);
}

/** The step and image type of a preview, from a key relative to previewsPrefix; undefined for anything else. */
export function parsePreviewKey(relativeKey: string): { step: number; contentType: string } | undefined {
  const m = /^step-(\d{8,})\.([a-z]+)$/.exec(relativeKey);
  if (!m || !Object.hasOwn(PREVIEW_TYPES, m[2]!)) return undefined;
  return { step: Number(m[1]), contentType: PREVIEW_TYPES[m[2] as PreviewExtension] };
}

/** The image type of a preview URI by its extension, or undefined if it is not one a preview may have. */
export function previewContentType(uri: string): string | undefined {
  const ext = /\.([a-z]+)$/.exec(uri.toLowerCase())?.[1];
  return ext !== undefined && Object.hasOwn(PREVIEW_TYPES, ext)
    ? PREVIEW_TYPES[ext as PreviewExtension]
    : undefined;
}

/** Every preview in storage under `output`, in step order. */
export async function listPreviews(
  store: ObjectStore,
  output: string,
): Promise<{ step: number; uri: string }[]> {
  const previews: { step: number; uri: string }[] = [];
  for await (const entry of store.list(previewsPrefix(output))) {
    const parsed = parsePreviewKey(entry.relativeKey);
    if (parsed) previews.push({ step: parsed.step, uri: entry.uri });
  }
  return previews.sort((a, b) => a.step - b.step);
}

/** The exported model's folder: StyleTraining.status.modelURI and StyleServer styles point here. */
export function modelPrefix(output: string): string {
  return joinUri(output, MODEL_FOLDER);
}
