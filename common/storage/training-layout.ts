// Where a StyleTraining's outputs live under its spec.output prefix. The
// trainer writes them, the operator points StyleServers at the model, the
// dashboard lists and proxies the previews, the CLI and the demo read
// checkpoints: all of them name these objects through this one module, so a
// change of layout cannot leave one of them looking in the old place.
//
//   <output>checkpoints/step-00001000/   a checkpoint (its files, manifest.json last)
//   <output>previews/photos/<photo>.jpg             a held-out photo as the network sees it
//   <output>previews/step-00001000/<photo>.jpg      that photo stylised by the checkpoint at step 1000
//   <output>model/                       the exported model (model.json, weights.bin, model.onnx, manifest.json)
import { MANIFEST_NAME } from "./manifest.js";
import type { ObjectStore } from "./storage.js";
import { joinUri } from "./uri.js";

export const CHECKPOINTS_FOLDER = "checkpoints/";
export const PREVIEWS_FOLDER = "previews/";
export const MODEL_FOLDER = "model/";

/** Zero-padded, so listing order (lexicographic in S3) is step order. */
const STEP_DIGITS = 8;

/** "step-00001000": the name of a step's checkpoint folder and previews folder. */
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

const ORIGINALS_FOLDER = "photos/";

/**
 * A preview photo's name, `NN-<name>`: its place in spec.previews.photos (so
 * a listing comes back in the spec's order) and its file name reduced to
 * [a-z0-9_-].
 */
export const PREVIEW_PHOTO_NAME = /^[0-9]{2}-[a-z0-9_-]{1,48}$/;

/** `NN-<name>` for the photo at `index` of the preview list, from its file name (`…/Chelsea.png` → `00-chelsea`). */
export function previewPhotoName(index: number, source: string): string {
  const file = source.replace(/\/+$/, "").split("/").pop() ?? "";
  const stem = file.replace(/\.[^.]*$/, "");
  const clean = stem
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 48);
  return `${String(index).padStart(2, "0")}-${clean || "photo"}`;
}

/** Prefix of the previews of one checkpoint. */
export function previewStepPrefix(output: string, step: number): string {
  return joinUri(output, PREVIEWS_FOLDER, `${stepName(step)}/`);
}

/** One held-out photo stylised by the checkpoint at `step` (always JPEG). */
export function previewUri(output: string, step: number, photo: string): string {
  return joinUri(output, PREVIEWS_FOLDER, `${stepName(step)}/`, `${photo}.jpg`);
}

/** The held-out photo itself, at the size the previews are made at. */
export function previewOriginalUri(output: string, photo: string): string {
  return joinUri(output, PREVIEWS_FOLDER, ORIGINALS_FOLDER, `${photo}.jpg`);
}

export type PreviewObject =
  { kind: "stylised"; step: number; photo: string } | { kind: "original"; photo: string };

/** What an object under previewsPrefix(output) is, from its key relative to that prefix; undefined if none of ours. */
export function parsePreviewKey(relativeKey: string): PreviewObject | undefined {
  const stylised = new RegExp(`^step-(\\d{${STEP_DIGITS},})/([^/]+)\\.jpg$`).exec(relativeKey);
  if (stylised && PREVIEW_PHOTO_NAME.test(stylised[2]!)) {
    return { kind: "stylised", step: Number(stylised[1]), photo: stylised[2]! };
  }
  const original = new RegExp(`^${ORIGINALS_FOLDER}([^/]+)\\.jpg$`).exec(relativeKey);
  if (original && PREVIEW_PHOTO_NAME.test(original[1]!)) return { kind: "original", photo: original[1]! };
  return undefined;
}

/** Every stylised preview in storage under `output`: the photos of each step, in step order. */
export async function listPreviews(
  store: ObjectStore,
  output: string,
): Promise<{ step: number; photos: string[] }[]> {
  const byStep = new Map<number, string[]>();
  for await (const entry of store.list(previewsPrefix(output))) {
    const found = parsePreviewKey(entry.relativeKey);
    if (found?.kind !== "stylised") continue;
    const photos = byStep.get(found.step) ?? [];
    photos.push(found.photo);
    byStep.set(found.step, photos);
  }
  return [...byStep].sort(([a], [b]) => a - b).map(([step, photos]) => ({ step, photos: photos.sort() }));
}

/** The exported model's folder: StyleTraining.status.modelURI and StyleServer styles point here. */
export function modelPrefix(output: string): string {
  return joinUri(output, MODEL_FOLDER);
}
