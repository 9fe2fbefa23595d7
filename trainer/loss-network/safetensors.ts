/**
 * Reader and writer for the safetensors format (huggingface/safetensors):
 * 8-byte little-endian header length N, N bytes of JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {..}}`,
 * then the raw little-endian tensor bytes, offsets relative to the end of
 * the header.
 *
 * Written here because npm has no maintained parser for local buffers (the
 * `safetensors` package is an unmaintained 0.0.1; @huggingface/hub only reads
 * metadata of files on the Hub). The format is small and fully specified.
 */
import { endianness } from "node:os";
import { z } from "zod";
import type { NamedArray } from "../model/parameters.js";

/** dtypes whose values we can widen to float32 exactly or by rounding (F64). */
const BYTES_PER_ELEMENT = { F32: 4, F16: 2, BF16: 2, F64: 8 } as const;
export type FloatDtype = keyof typeof BYTES_PER_ELEMENT;

/** Header size cap: the reference implementation refuses headers over 100 MB. */
const MAX_HEADER_BYTES = 100_000_000;

const TensorInfoSchema = z
  .object({
    dtype: z.string(),
    shape: z.array(z.int().min(0)),
    data_offsets: z.tuple([z.int().min(0), z.int().min(0)]),
  })
  .strict();

const HeaderSchema = z.record(z.string(), z.unknown());
const MetadataSchema = z.record(z.string(), z.string());

export interface SafetensorsFile {
  tensors: Map<string, NamedArray>;
  metadata: Record<string, string>;
}

function checkHostEndianness(): void {
  // Float32Array views use the host byte order; the format is little-endian.
  if (endianness() !== "LE") throw new Error("safetensors: big-endian hosts are not supported");
}

function float16ToFloat32(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 0x1f) return frac === 0 ? sign * Infinity : NaN;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Little-endian floats of `dtype` widened to float32 (also ONNX raw_data, which uses the same encodings). */
export function decodeFloats(dtype: FloatDtype, bytes: Uint8Array): Float32Array {
  checkHostEndianness();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.byteLength / BYTES_PER_ELEMENT[dtype];
  switch (dtype) {
    case "F32":
      // Copy first: the data may sit at an offset that is not 4-aligned. (Not
      // bytes.slice(): on a Node Buffer that is a view of the whole pool.)
      return new Float32Array(new Uint8Array(bytes).buffer);
    case "F64": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      return out;
    }
    case "F16": {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = float16ToFloat32(view.getUint16(i * 2, true));
      return out;
    }
    case "BF16": {
      // bfloat16 is the top half of a float32.
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
      return new Float32Array(bits.buffer);
    }
  }
}

/** Parses a whole safetensors file; every tensor must be a float type (F32, F16, BF16, F64) and is returned as float32. */
export function parseSafetensors(bytes: Uint8Array, where = "safetensors"): SafetensorsFile {
  checkHostEndianness();
  if (bytes.byteLength < 8)
    throw new Error(`${where}: file is ${bytes.byteLength} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8))) {
    throw new Error(
      `${where}: header length ${headerLength} does not fit the file (${bytes.byteLength} bytes); not a safetensors file?`,
    );
  }
  const dataStart = 8 + Number(headerLength);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (err) {
    throw new Error(`${where}: header is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const header = HeaderSchema.parse(json);
  const dataLength = bytes.byteLength - dataStart;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, raw] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = MetadataSchema.parse(raw);
      continue;
    }
    const parsed = TensorInfoSchema.safeParse(raw);
    if (!parsed.success)
      throw new Error(`${where}: tensor ${name}: bad header entry: ${z.prettifyError(parsed.error)}`);
    const info = parsed.data;
    if (!(info.dtype in BYTES_PER_ELEMENT)) {
      throw new Error(
        `${where}: tensor ${name} has dtype ${info.dtype}; only F32, F16, BF16 and F64 are supported`,
      );
    }
    const dtype = info.dtype as FloatDtype;
    const [begin, end] = info.data_offsets;
    const count = info.shape.reduce((a, b) => a * b, 1);
    if (end < begin || end > dataLength) {
      throw new Error(
        `${where}: tensor ${name} data_offsets [${begin}, ${end}] lie outside the ${dataLength} data bytes`,
      );
    }
    if (end - begin !== count * BYTES_PER_ELEMENT[dtype]) {
      throw new Error(
        `${where}: tensor ${name} has ${end - begin} bytes, shape [${info.shape.join(",")}] ${dtype} needs ${count * BYTES_PER_ELEMENT[dtype]}`,
      );
    }
    tensors.set(name, {
      shape: info.shape,
      data: decodeFloats(dtype, bytes.subarray(dataStart + begin, dataStart + end)),
    });
  }
  return { tensors, metadata };
}

/** Writes float32 tensors as a safetensors file (tests, and checkpoints others can read with the Python library). */
export function serializeSafetensors(
  tensors: ReadonlyMap<string, NamedArray>,
  metadata: Record<string, string> = {},
): Uint8Array {
  checkHostEndianness();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header["__metadata__"] = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new Error(`tensor ${name}: ${t.data.length} values for shape [${t.shape.join(",")}]`);
    header[name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  // The spec pads the header with spaces to a multiple of 8 so data is aligned.
  let headerText = JSON.stringify(header);
  headerText += " ".repeat((8 - (Buffer.byteLength(headerText) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}
