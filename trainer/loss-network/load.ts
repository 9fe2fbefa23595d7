import { readFile } from "node:fs/promises";
import { dirname, extname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createLogger } from "../../common/log/logger.js";
import { readVgg16Safetensors, vgg16Digest } from "./canonical.js";
import { identifySource } from "./known-sources.js";
import { readOnnxVgg16 } from "./onnx.js";
import { readTfjsLayersModel } from "./tfjs-layers.js";
import {
  type ConvWeights,
  type InputConvention,
  preprocessFor,
  Vgg16,
  type VggConvName,
  VGG16_CONVS,
} from "./vgg16.js";
import { mulberry32 } from "../../common/mulberry32.js";

const log = createLogger("trainer.loss-network");

export type LossNetworkFormat = "auto" | "keras-h5" | "safetensors" | "tfjs-layers" | "onnx";
export type ConcreteFormat = Exclude<LossNetworkFormat, "auto">;

/**
 * The input convention a format's weights have when nothing more specific
 * says (the spec, the file's metadata, a known source). ONNX has none: it
 * carries Keras and PyTorch models alike.
 */
export const FORMAT_CONVENTION: Record<ConcreteFormat, InputConvention | undefined> = {
  "keras-h5": "caffe",
  safetensors: "torch",
  // tensorflowjs_converter output of Keras's VGG16, so Keras's convention.
  "tfjs-layers": "caffe",
  onnx: undefined,
};

export const KERAS_VGG16_NOTOP_URL =
  "https://storage.googleapis.com/tensorflow/keras-applications/vgg16/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5";

export const WHERE_TO_GET_WEIGHTS = [
  "No VGG-16 weights configured for the loss network (spec.lossNetwork.weights). Use one of:",
  "  - `stylekube weights pull vgg16` fetches ImageNet VGG-16, verifies it and prints the path of a",
  "    safetensors file (`--to s3://bucket/vgg16.safetensors` also uploads it; see docs/loss-network.md);",
  `  - Keras applications: ${KERAS_VGG16_NOTOP_URL} (58 MB, format keras-h5);`,
  '  - torchvision: torchvision.models.vgg16(weights="IMAGENET1K_V1"), saved with',
  '    safetensors.torch.save_file(model.state_dict(), "vgg16.safetensors") (format safetensors);',
  "  - a TensorFlow.js layers model (model.json + .bin) converted from Keras's VGG16 (format tfjs-layers);",
  "  - an ONNX export of a VGG-16 classifier (format onnx).",
  "Upload the file to your storage and set spec.lossNetwork.weights to its URI (or give the operator a default:",
  "STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS, chart value trainer.defaultLossNetworkWeights).",
  "For tests only, spec.lossNetwork.random: true trains against a random VGG-16 (the result is not a style transfer).",
].join("\n");

export class MissingLossNetworkWeightsError extends Error {
  constructor() {
    super(WHERE_TO_GET_WEIGHTS);
    this.name = "MissingLossNetworkWeightsError";
  }
}

/** Reads a URI that is not a local file (s3://, https://); wired to common storage by the worker. */
export type ReadUri = (uri: string) => Promise<Uint8Array>;

export interface LoadVgg16Options {
  /** A local path, a file:// URI, or any URI `readUri` can read. */
  weights?: string | undefined;
  format?: LossNetworkFormat | undefined;
  /** Random weights, for tests: loss values mean nothing. */
  random?: boolean | undefined;
  /** Seed of the random weights. */
  seed?: number | undefined;
  /** Overrides the input convention found for the weights (e.g. a tfjs model converted from PyTorch); "auto" or undefined does not. */
  convention?: InputConvention | "auto" | undefined;
  readUri?: ReadUri | undefined;
}

export function detectFormat(uri: string): ConcreteFormat {
  const path = uri.split(/[?#]/, 1)[0] ?? uri;
  const ext = extname(path).toLowerCase();
  if (ext === ".h5" || ext === ".hdf5" || ext === ".keras") return "keras-h5";
  if (ext === ".safetensors") return "safetensors";
  if (ext === ".json") return "tfjs-layers";
  if (ext === ".onnx") return "onnx";
  throw new Error(
    `cannot tell the loss-network weights format of ${uri} from its extension (.h5, .safetensors, .json or .onnx); set spec.lossNetwork.format`,
  );
}

/** A local path for plain paths and file:// URIs, else undefined. */
function localPath(uri: string): string | undefined {
  if (uri.startsWith("file://")) return fileURLToPath(uri);
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(uri) ? undefined : uri;
}

function reader(readUri: ReadUri | undefined): (uri: string) => Promise<Uint8Array> {
  return async (uri) => {
    const path = localPath(uri);
    if (path !== undefined) return new Uint8Array(await readFile(path));
    if (readUri === undefined) throw new Error(`cannot read ${uri}: no reader for this URI scheme was given`);
    return readUri(uri);
  };
}

/** Resolves a weights file named in model.json against the model.json location. */
function sibling(modelJsonUri: string, relative: string): string {
  const path = localPath(modelJsonUri);
  if (path !== undefined) return join(dirname(path), relative);
  return new URL(relative, modelJsonUri).toString();
}

/** He-normal kernels, zero biases: activations keep their scale through ten ReLU convs. Deterministic in `seed`. */
export function randomVgg16Weights(seed = 0): Map<VggConvName, ConvWeights> {
  const rand = mulberry32(seed);
  const out = new Map<VggConvName, ConvWeights>();
  for (const conv of VGG16_CONVS) {
    const shape = [3, 3, conv.inChannels, conv.outChannels];
    const std = Math.sqrt(2 / (9 * conv.inChannels));
    const data = new Float32Array(9 * conv.inChannels * conv.outChannels);
    for (let i = 0; i < data.length; i++) {
      // Box–Muller; 1 − u keeps the logarithm finite.
      data[i] = std * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    }
    out.set(conv.name, {
      kernel: { shape, data },
      bias: { shape: [conv.outChannels], data: new Float32Array(conv.outChannels) },
    });
  }
  return out;
}

/** Weights read from a file, and how their input convention was decided. */
export interface Vgg16Weights {
  weights: Map<VggConvName, ConvWeights>;
  format: ConcreteFormat;
  convention: InputConvention;
  /** Where the convention came from: "spec", "file metadata", "known source: …" or "format". */
  conventionFrom: string;
  /** What the reader found (ONNX: producer, layouts, nodes), for the log line. */
  details: Record<string, unknown>;
}

export type ReadVgg16WeightsOptions = Pick<LoadVgg16Options, "format" | "convention" | "readUri"> & {
  weights: string;
};

function conventionOf(
  spec: InputConvention | "auto" | undefined,
  found: { convention: InputConvention; from: string } | undefined,
  format: ConcreteFormat,
  where: string,
): { convention: InputConvention; from: string } {
  if (spec !== undefined && spec !== "auto") return { convention: spec, from: "spec" };
  if (found !== undefined) return found;
  const byFormat = FORMAT_CONVENTION[format];
  if (byFormat !== undefined) return { convention: byFormat, from: "format" };
  throw new Error(
    `${where}: cannot tell which input the weights expect (not a known source); set spec.lossNetwork.convention (weights pull: --convention) to caffe (Keras/original VGG: BGR, 0–255 minus the ImageNet mean) or torch (torchvision: RGB, 0–1, ImageNet mean/std)`,
  );
}

/** Reads VGG-16's convs from a weights file in any supported format, with their input convention. */
export async function readVgg16Weights(options: ReadVgg16WeightsOptions): Promise<Vgg16Weights> {
  const uri = options.weights;
  const format =
    options.format === undefined || options.format === "auto" ? detectFormat(uri) : options.format;
  const read = reader(options.readUri);
  const where = `${uri} (${format})`;
  let weights: Map<VggConvName, ConvWeights>;
  let found: { convention: InputConvention; from: string } | undefined;
  let details: Record<string, unknown> = {};
  switch (format) {
    case "keras-h5": {
      // Loaded on demand: h5wasm compiles its WebAssembly HDF5 library on import.
      const { readKerasH5Bytes, readKerasH5File } = await import("./keras-h5.js");
      const path = localPath(uri);
      weights =
        path !== undefined
          ? await readKerasH5File(path, where)
          : await readKerasH5Bytes(await read(uri), where);
      break;
    }
    case "safetensors": {
      const file = readVgg16Safetensors(await read(uri), where);
      weights = file.weights;
      if (file.convention !== undefined) found = { convention: file.convention, from: "file metadata" };
      details = {
        naming: file.kind,
        ...(file.metadata["source"] ? { source: file.metadata["source"] } : {}),
      };
      break;
    }
    case "tfjs-layers": {
      const text = new TextDecoder().decode(await read(uri));
      weights = await readTfjsLayersModel(text, (rel) => read(sibling(uri, rel)), where);
      break;
    }
    case "onnx": {
      const onnx = readOnnxVgg16(await read(uri), where);
      weights = onnx.weights;
      const digest = vgg16Digest(weights);
      const known = identifySource(digest, onnx.report.initializerNames);
      if (known !== undefined) found = { convention: known.convention, from: `known source: ${known.name}` };
      const { initializerNames: _names, ...report } = onnx.report;
      details = { ...report, sha256: digest };
      if (report.preprocessing.length > 0) {
        log.warn(
          { weights: uri, ops: report.preprocessing },
          "the ONNX graph preprocesses its input before conv1_1; those ops are not used, the loss network applies its convention's preprocessing instead",
        );
      }
      break;
    }
  }
  const { convention, from } = conventionOf(options.convention, found, format, where);
  return { weights, format, convention, conventionFrom: from, details };
}

/**
 * Loads the frozen VGG-16 loss network with the input convention of its
 * weights attached. Refuses (MissingLossNetworkWeightsError, which says where
 * to get weights) when none are configured, unless `random` is set.
 */
export async function loadVgg16(options: LoadVgg16Options): Promise<Vgg16> {
  if (options.random === true) {
    if (options.weights !== undefined)
      throw new Error("set either lossNetwork.weights or lossNetwork.random, not both");
    log.warn(
      "LOSS NETWORK HAS RANDOM WEIGHTS (lossNetwork.random: true): the trained network will NOT learn a style. Use this for tests only.",
    );
    const convention =
      options.convention === undefined || options.convention === "auto" ? "torch" : options.convention;
    return new Vgg16(randomVgg16Weights(options.seed ?? 0), preprocessFor(convention), {
      description: "random",
      convention,
      random: true,
    });
  }
  const uri = options.weights;
  if (uri === undefined || uri === "") throw new MissingLossNetworkWeightsError();
  const loaded = await readVgg16Weights({ ...options, weights: uri });
  const { format, convention, conventionFrom, details } = loaded;
  log.info({ weights: uri, format, convention, conventionFrom, ...details }, "loaded VGG-16 loss network");
  return new Vgg16(loaded.weights, preprocessFor(convention), {
    description: `${uri} (${format})`,
    convention,
    random: false,
  });
}
