import * as tf from "@tensorflow/tfjs-core";

/**
 * Named, ordered parameters. The insertion order is the network's forward
 * order and never changes for a given configuration, so flattening all
 * tensors in this order gives every worker the same layout of the gradient
 * buffer that is averaged over NATS, and saving/loading can go by name.
 */
export type ParameterMap = Map<string, tf.Variable>;

/** A tensor's values and shape, as saved in a checkpoint or read from a weights file. */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

export function countParameters(params: ReadonlyMap<string, tf.Tensor>): number {
  let n = 0;
  for (const p of params.values()) n += p.size;
  return n;
}

/**
 * Concatenates tensors (parameters or their gradients) in map order into one
 * float32 buffer. Reads asynchronously, as every read on the training path
 * must: the webgpu backend cannot read synchronously under Node.
 */
export async function flattenTensors(tensors: ReadonlyMap<string, tf.Tensor>): Promise<Float32Array> {
  const out = new Float32Array(countParameters(tensors));
  const values = await Promise.all([...tensors.values()].map((t) => t.data() as Promise<Float32Array>));
  let offset = 0;
  for (const v of values) {
    out.set(v, offset);
    offset += v.length;
  }
  return out;
}

/** Splits a flat buffer laid out like `like` back into tensors with the same names and shapes. */
export function unflattenTensors(
  flat: Float32Array,
  like: ReadonlyMap<string, tf.Tensor>,
): Map<string, tf.Tensor> {
  const expected = countParameters(like);
  if (flat.length !== expected) {
    throw new Error(`flat buffer has ${flat.length} values, the parameters have ${expected}`);
  }
  const out = new Map<string, tf.Tensor>();
  let offset = 0;
  for (const [name, t] of like) {
    out.set(name, tf.tensor(flat.subarray(offset, offset + t.size), t.shape, "float32"));
    offset += t.size;
  }
  return out;
}

/** Copies the values of named arrays into the variables; every variable must be present with the same shape. */
export function assignNamed(
  vars: ReadonlyMap<string, tf.Variable>,
  values: ReadonlyMap<string, NamedArray>,
): void {
  for (const [name, v] of vars) {
    const src = values.get(name);
    if (src === undefined) throw new Error(`no value for parameter ${name}`);
    if (!sameShape(src.shape, v.shape)) {
      throw new Error(
        `parameter ${name}: shape [${src.shape.join(",")}] does not match [${v.shape.join(",")}]`,
      );
    }
    tf.tidy(() => v.assign(tf.tensor(src.data, v.shape, "float32")));
  }
  const unknown = [...values.keys()].filter((k) => !vars.has(k));
  if (unknown.length > 0) throw new Error(`unknown parameters: ${unknown.join(", ")}`);
}

/** Reads the variables out as named arrays (for checkpoints), asynchronously (see flattenTensors). */
export async function readNamed(vars: ReadonlyMap<string, tf.Variable>): Promise<Map<string, NamedArray>> {
  const out = new Map<string, NamedArray>();
  for (const [name, v] of vars) {
    out.set(name, { shape: [...v.shape], data: Float32Array.from((await v.data()) as Float32Array) });
  }
  return out;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Float32 arrays end to end as little-endian bytes (weights.bin, optimizer.bin). */
export function float32Bytes(arrays: Iterable<Float32Array>): Buffer {
  const list = [...arrays];
  const out = new Float32Array(list.reduce((n, a) => n + a.length, 0));
  let offset = 0;
  for (const a of list) {
    out.set(a, offset);
    offset += a.length;
  }
  return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
}

/** The float32 values of bytes read from storage (copied: a storage buffer need not be 4-byte aligned). */
export function float32FromBytes(bytes: Uint8Array): Float32Array {
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return new Float32Array(copy.buffer);
}
