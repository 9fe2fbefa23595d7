// Where previews live under a training's `spec.output`, written by the
// trainer (rank 0) and read back by the dashboard:
//
//   <output>previews/photos/<photo>.jpg               the held-out photo as the network sees it
//   <output>previews/step-NNNNNNNN/<photo>.jpg        that photo stylised by the checkpoint at step N
//
// `<photo>` is `NN-<name>`: its place in spec.previews.photos (so a listing
// comes back in the spec's order) and the source file's name. This file is
// the only place that spells these paths; it belongs with the rest of the
// training output layout (checkpoints, model) once that has one module.
import { joinUri } from "./uri.js";

const PREVIEWS_DIR = "previews/";
const ORIGINALS_DIR = "photos";
const STEP_DIGITS = 8;

/** A preview photo's name: two-digit place, then the file name reduced to [a-z0-9_-]. */
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

function stepDir(step: number): string {
  return `step-${String(step).padStart(STEP_DIGITS, "0")}/`;
}

/** Prefix of every preview (the dashboard lists it after an operator restart). */
export function previewsPrefix(output: string): string {
  return joinUri(output, PREVIEWS_DIR);
}

/** Prefix of the previews of one checkpoint. */
export function previewStepPrefix(output: string, step: number): string {
  return joinUri(output, PREVIEWS_DIR, stepDir(step));
}

/** One held-out photo stylised by the checkpoint at `step`. */
export function previewUri(output: string, step: number, photo: string): string {
  return joinUri(output, PREVIEWS_DIR, stepDir(step), `${photo}.jpg`);
}

/** The held-out photo itself, at the size the previews are made at. */
export function previewOriginalUri(output: string, photo: string): string {
  return joinUri(output, PREVIEWS_DIR, ORIGINALS_DIR, `${photo}.jpg`);
}

export type PreviewObject =
  { kind: "stylised"; step: number; photo: string } | { kind: "original"; photo: string };

/** What an object under `previewsPrefix(output)` is, from its key relative to that prefix; undefined if none of ours. */
export function parsePreviewKey(relativeKey: string): PreviewObject | undefined {
  const stylised = new RegExp(`^step-(\\d{${STEP_DIGITS}})/([^/]+)\\.jpg$`).exec(relativeKey);
  if (stylised && PREVIEW_PHOTO_NAME.test(stylised[2]!)) {
    return { kind: "stylised", step: Number(stylised[1]), photo: stylised[2]! };
  }
  const original = new RegExp(`^${ORIGINALS_DIR}/([^/]+)\\.jpg$`).exec(relativeKey);
  if (original && PREVIEW_PHOTO_NAME.test(original[1]!)) return { kind: "original", photo: original[1]! };
  return undefined;
}
