// The worker's inputs, checked before anything costly (the compute engine,
// NATS, the collective's rendezvous, VGG-16): the style image is read and
// decoded, the dataset's index read and validated, the loss network's weights
// and the initial model looked up. An input that is missing, unreadable or
// not what the spec says fails with PermanentInputError naming the field and
// the URI, which the worker turns into PERMANENT_FAILURE_EXIT_CODE
// (common/worker-exit.ts); a transient failure (S3 5xx, a timeout) is thrown
// as it is, and the attempt is retried as before.
import type { StyleTrainingSpec } from "../common/api/index.js";
import { decodeRgb, ImageDecodeError, type RgbImage } from "../common/images/codec.js";
import { storageFailureKind } from "../common/storage/failure-kind.js";
import { StorageError, type ObjectStore } from "../common/storage/index.js";
import { latestCheckpoint } from "./checkpoint/checkpoints.js";
import { DATASET_INDEX_NAME, DatasetIndexError, readDatasetIndex } from "./data/format.js";
import { checkInitialModel, InitialModelError } from "./initial-model.js";
import { detectFormat, WHERE_TO_GET_WEIGHTS } from "./loss-network/load.js";
import { checkReadable, readUri } from "./read-uri.js";

/** An input that no retry can fix; the message names the field, the URI and the fix. */
export class PermanentInputError extends Error {
  override name = "PermanentInputError";
  constructor(
    /** The spec field, e.g. "spec.style". */
    readonly field: string,
    readonly uri: string | undefined,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface CheckedInputs {
  /** The decoded style image, so that it is read once. */
  styleRgb: RgbImage;
}

/** Largest side the style image is decoded at (as large as the training images, at least 512 px). */
function styleMaxSide(spec: StyleTrainingSpec): number {
  return Math.max(spec.hyperparameters.imageSize, 512);
}

export async function checkInputs(store: ObjectStore, spec: StyleTrainingSpec): Promise<CheckedInputs> {
  const styleRgb = await checkStyle(store, spec);
  await checkDataset(store, spec.dataset);
  await checkLossNetwork(store, spec.lossNetwork);
  if (spec.initialModel !== undefined && (await latestCheckpoint(store, spec.output)) === undefined)
    await checkStartModel(store, spec);
  return { styleRgb };
}

/** Rethrows `err` as permanent for `field` when no retry can fix it, as it is otherwise. */
function classify(field: string, uri: string, what: string, fix: string, err: unknown): never {
  if (storageFailureKind(err) === "transient") throw err;
  const why = err instanceof Error ? err.message : String(err);
  throw new PermanentInputError(field, uri, `${field} ${uri}: ${what} (${why}); ${fix}`, { cause: err });
}

async function checkStyle(store: ObjectStore, spec: StyleTrainingSpec): Promise<RgbImage> {
  const uri = spec.style;
  const bytes = await readUri(store, uri).catch((err: unknown) =>
    classify(
      "spec.style",
      uri,
      "cannot read the style image",
      "upload the image there or point spec.style at it",
      err,
    ),
  );
  try {
    return await decodeRgb(bytes, { maxSide: styleMaxSide(spec) });
  } catch (err) {
    if (!(err instanceof ImageDecodeError)) throw err;
    throw new PermanentInputError(
      "spec.style",
      uri,
      `spec.style ${uri}: ${err.message}; point spec.style at a JPEG, PNG or WebP image`,
      { cause: err },
    );
  }
}

async function checkDataset(store: ObjectStore, uri: string): Promise<void> {
  try {
    await readDatasetIndex(store, uri);
  } catch (err) {
    const fix =
      "pack the photos there with `stylekube dataset pack`, or point spec.dataset at a packed prefix";
    if (err instanceof DatasetIndexError)
      throw new PermanentInputError("spec.dataset", uri, `spec.dataset ${uri}: ${err.message}; ${fix}`, {
        cause: err,
      });
    classify("spec.dataset", uri, `no readable dataset index (${DATASET_INDEX_NAME})`, fix, err);
  }
}

async function checkLossNetwork(store: ObjectStore, loss: StyleTrainingSpec["lossNetwork"]): Promise<void> {
  if (loss.random) return;
  const uri = loss.weights;
  if (uri === undefined || uri === "")
    throw new PermanentInputError("spec.lossNetwork.weights", undefined, WHERE_TO_GET_WEIGHTS);
  if (loss.format === undefined || loss.format === "auto") {
    try {
      detectFormat(uri);
    } catch (err) {
      throw new PermanentInputError("spec.lossNetwork.format", uri, (err as Error).message, { cause: err });
    }
  }
  await checkReadable(store, uri).catch((err: unknown) =>
    classify(
      "spec.lossNetwork.weights",
      uri,
      "cannot read the VGG-16 weights",
      "upload them there (`stylekube weights pull vgg16 --to URI`) or fix spec.lossNetwork.weights",
      err,
    ),
  );
}

async function checkStartModel(store: ObjectStore, spec: StyleTrainingSpec): Promise<void> {
  const uri = spec.initialModel!;
  try {
    await checkInitialModel(store, uri, spec.hyperparameters);
  } catch (err) {
    if (!(err instanceof InitialModelError)) throw err;
    // A model.json that does not parse or does not fit is permanent; a storage error only when it says so.
    if (err.cause instanceof StorageError && storageFailureKind(err.cause) === "transient") throw err;
    throw new PermanentInputError("spec.initialModel", uri, err.message, { cause: err });
  }
}
