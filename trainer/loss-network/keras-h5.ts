import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import h5wasm from "h5wasm/node";
import type { NamedArray } from "../model/parameters.js";
import {
  type ConvWeights,
  checkConvWeights,
  kerasLayerName,
  type VggConvName,
  VGG16_CONVS,
} from "./vgg16.js";

type H5File = InstanceType<typeof h5wasm.File>;
type H5Group = InstanceType<typeof h5wasm.Group>;
type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

function isGroup(e: unknown): e is H5Group {
  return e instanceof h5wasm.Group;
}
function isDataset(e: unknown): e is H5Dataset {
  return e instanceof h5wasm.Dataset;
}

function readArray(ds: H5Dataset, where: string): NamedArray {
  const value = ds.value;
  const shape = ds.shape ?? [];
  if (value instanceof Float32Array) return { shape, data: Float32Array.from(value) };
  if (value instanceof Float64Array) return { shape, data: Float32Array.from(value) };
  throw new Error(
    `${where}: dataset ${ds.path} has dtype ${JSON.stringify(ds.dtype)}, expected float32 or float64`,
  );
}

/** All datasets below a group, depth first. */
function datasetsUnder(g: H5Group): H5Dataset[] {
  const out: H5Dataset[] = [];
  for (const key of g.keys()) {
    const e = g.get(key);
    if (isDataset(e)) out.push(e);
    else if (isGroup(e)) out.push(...datasetsUnder(e));
  }
  return out;
}

/**
 * The kernel and bias of one Keras layer group. Keras (1 and 2, legacy h5)
 * lists the weights of a layer, in order [kernel, bias], in the group's
 * `weight_names` attribute; the datasets live at those paths below the
 * group (`block1_conv1/kernel:0` in Keras 2, `block1_conv1_W_1:0` in the
 * Keras-1-era file that keras.applications still downloads). Without the
 * attribute, fall back to the one 4-D and the one 1-D dataset in the group.
 */
function readLayer(group: H5Group, where: string): ConvWeights {
  const attr = group.attrs["weight_names"];
  let datasets: H5Dataset[];
  if (attr !== undefined) {
    const raw = attr.value;
    const names = (Array.isArray(raw) ? raw : [raw]).map(String);
    datasets = names.map((n) => {
      const e = group.get(n);
      if (!isDataset(e)) throw new Error(`${where}: ${group.path} lists weight ${n} but has no such dataset`);
      return e;
    });
  } else {
    datasets = datasetsUnder(group);
  }
  const kernels = datasets.filter((d) => d.shape?.length === 4);
  const biases = datasets.filter((d) => d.shape?.length === 1);
  const [kernel] = kernels;
  const [bias] = biases;
  if (kernels.length !== 1 || biases.length !== 1 || kernel === undefined || bias === undefined) {
    throw new Error(
      `${where}: ${group.path} should hold one 4-D kernel and one 1-D bias, found ${datasets.map((d) => `${d.path} [${(d.shape ?? []).join(",")}]`).join(", ")}`,
    );
  }
  return { kernel: readArray(kernel, where), bias: readArray(bias, where) };
}

/** The group holding the layer groups: the root for save_weights files, `model_weights` for whole-model saves. */
function layersRoot(f: H5File): H5Group {
  const mw = f.get("model_weights");
  return f.attrs["layer_names"] === undefined && isGroup(mw) ? mw : f;
}

/**
 * Reads the Keras applications VGG-16 weights
 * (`vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5`, or the full model
 * without `_notop`): groups block1_conv1 … block4_conv3, kernels already
 * HWIO. Their input convention is "caffe" (BGR 0–255 minus the mean).
 */
export async function readKerasH5File(path: string, where = path): Promise<Map<VggConvName, ConvWeights>> {
  await h5wasm.ready;
  // h5wasm reports a missing file only as "name not defined" on first use.
  await access(path).catch((err: Error) => {
    throw new Error(`${where}: ${err.message}`, { cause: err });
  });
  let f: H5File;
  try {
    f = new h5wasm.File(path, "r");
  } catch (err) {
    throw new Error(`${where}: cannot open as HDF5: ${(err as Error).message}`, { cause: err });
  }
  try {
    const root = layersRoot(f);
    const out = new Map<VggConvName, ConvWeights>();
    for (const conv of VGG16_CONVS) {
      const name = kerasLayerName(conv);
      const g = root.get(name);
      if (!isGroup(g)) {
        throw new Error(
          `${where}: no layer group ${name}; expected Keras VGG-16 weights (vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5)`,
        );
      }
      const w = readLayer(g, where);
      checkConvWeights(conv, w, where);
      out.set(conv.name, w);
    }
    return out;
  } finally {
    f.close();
  }
}

/** Same as readKerasH5File for bytes fetched from elsewhere (HDF5 is read through a file, so they go to a temp file). */
export async function readKerasH5Bytes(
  bytes: Uint8Array,
  where: string,
): Promise<Map<VggConvName, ConvWeights>> {
  const dir = await mkdtemp(join(tmpdir(), "stylekube-vgg-"));
  try {
    const path = join(dir, "weights.h5");
    await writeFile(path, bytes);
    return await readKerasH5File(path, where);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
