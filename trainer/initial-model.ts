// A training that starts from an exported model instead of random weights
// (spec.initialModel): to continue a style whose checkpoints are gone (only
// the model was kept), or to fine-tune one on other photos. Only the
// network's weights come from the model; Adam starts afresh, as it does in
// PyTorch when a state_dict is loaded into a new optimizer.
import type { Hyperparameters } from "../common/api/index.js";
import type { ObjectStore } from "../common/storage/index.js";
import { joinUri } from "../common/storage/uri.js";
import {
  assignModelWeights,
  ModelDescriptionSchema,
  readModelFiles,
  type ModelDescription,
} from "../model/model-export.js";
import type { TransformerNet } from "../model/transformer-net.js";

/** Thrown when the model cannot start this training; the message names the field and the fix. */
export class InitialModelError extends Error {
  override name = "InitialModelError";
}

/** Assigns the exported model's weights at `uri` to `net`; returns its description. */
export async function loadInitialModel(
  store: ObjectStore,
  uri: string,
  net: TransformerNet,
  hp: Pick<Hyperparameters, "normalization" | "upsampling">,
): Promise<ModelDescription> {
  const { description, weights } = await readModelFiles(store, uri).catch((err: unknown) => {
    throw cannotRead(uri, err);
  });
  checkArchitecture(uri, description, hp);
  assignModelWeights(net, description, weights);
  return description;
}

/**
 * Before anything costly: the model's description exists, parses and fits
 * the spec's architecture (its weights are read and verified when loaded).
 * A read failure is an InitialModelError whose cause is the storage error.
 */
export async function checkInitialModel(
  store: ObjectStore,
  uri: string,
  hp: Pick<Hyperparameters, "normalization" | "upsampling">,
): Promise<void> {
  const description = await store
    .getBytes(joinUri(uri, "model.json"))
    .then((bytes) => ModelDescriptionSchema.parse(JSON.parse(bytes.toString("utf8"))))
    .catch((err: unknown) => {
      throw cannotRead(uri, err);
    });
  checkArchitecture(uri, description, hp);
}

function cannotRead(uri: string, err: unknown): InitialModelError {
  return new InitialModelError(
    `spec.initialModel ${uri}: cannot read an exported model there (${String(err)}); point it at a model/ prefix written by a finished training or \`stylekube export\``,
    { cause: err },
  );
}

function checkArchitecture(
  uri: string,
  description: ModelDescription,
  hp: Pick<Hyperparameters, "normalization" | "upsampling">,
): void {
  for (const field of ["normalization", "upsampling"] as const) {
    if (description[field] !== hp[field]) {
      throw new InitialModelError(
        `spec.initialModel ${uri} has ${field} ${description[field]} but spec.hyperparameters.${field} is ${hp[field]}: set hyperparameters.${field} to ${description[field]}, or start from a model with the same ${field}`,
      );
    }
  }
}
