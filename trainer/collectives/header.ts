// The binary header in front of every gradient/weight chunk. Subjects already
// scope messages by job and attempt; the header repeats job (as a hash),
// attempt and step so a message that reaches the wrong subscription — a
// straggler, a misconfigured worker, a replay — is recognised and dropped
// instead of being summed into someone's gradient.
//
// Layout, little-endian, 36 bytes (a multiple of 4, so the float32 payload
// that follows keeps the 4-byte alignment of the message buffer):
//    0 u16 magic 0x4B53 ("SK")     2 u8 version      3 u8 kind
//    4 u32 job hash (FNV-1a)       8 u32 attempt    12 u32 step
//   16 u16 sender rank            18 u16 world size
//   20 u32 chunk index            24 u32 chunk count
//   28 u32 offset (float elements into the whole buffer)
//   32 u32 total (float elements in the whole buffer)
//   36 … payload: float32 elements, length = (bytes − 36) / 4

export const HEADER_BYTES = 36;
export const HEADER_MAGIC = 0x4b53;
export const HEADER_VERSION = 1;

/** What a chunk carries. */
export const ChunkKind = {
  /** reduce-scatter: a rank's copy of the owner's slice, sent to the owner. */
  reduceScatter: 1,
  /** all-gather: the owner's reduced (averaged) slice, sent to everyone. */
  allGather: 2,
  /** broadcast: the root's buffer, sent to everyone. */
  broadcast: 3,
} as const;
export type ChunkKind = (typeof ChunkKind)[keyof typeof ChunkKind];

export interface ChunkHeader {
  kind: ChunkKind;
  jobHash: number;
  attempt: number;
  step: number;
  rank: number;
  worldSize: number;
  chunkIndex: number;
  chunkCount: number;
  offset: number;
  total: number;
}

const U32_MAX = 0xffffffff;
const U16_MAX = 0xffff;

/** FNV-1a 32-bit over the UTF-8 bytes: cheap, stable across processes and
 * languages, and plenty to tell jobs apart (the subject carries the job too). */
export function jobHash(jobId: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(jobId)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function checkField(name: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`chunk header field ${name}=${value} is outside 0..${max}`);
  }
}

/** Writes `h` into the first HEADER_BYTES of `target`. */
export function encodeHeader(target: Uint8Array, h: ChunkHeader): void {
  if (target.byteLength < HEADER_BYTES) {
    throw new RangeError(`header needs ${HEADER_BYTES} bytes, target has ${target.byteLength}`);
  }
  checkField("kind", h.kind, 255);
  checkField("jobHash", h.jobHash, U32_MAX);
  checkField("attempt", h.attempt, U32_MAX);
  checkField("step", h.step, U32_MAX);
  checkField("rank", h.rank, U16_MAX);
  checkField("worldSize", h.worldSize, U16_MAX);
  checkField("chunkIndex", h.chunkIndex, U32_MAX);
  checkField("chunkCount", h.chunkCount, U32_MAX);
  checkField("offset", h.offset, U32_MAX);
  checkField("total", h.total, U32_MAX);
  const v = new DataView(target.buffer, target.byteOffset, HEADER_BYTES);
  v.setUint16(0, HEADER_MAGIC, true);
  v.setUint8(2, HEADER_VERSION);
  v.setUint8(3, h.kind);
  v.setUint32(4, h.jobHash, true);
  v.setUint32(8, h.attempt, true);
  v.setUint32(12, h.step, true);
  v.setUint16(16, h.rank, true);
  v.setUint16(18, h.worldSize, true);
  v.setUint32(20, h.chunkIndex, true);
  v.setUint32(24, h.chunkCount, true);
  v.setUint32(28, h.offset, true);
  v.setUint32(32, h.total, true);
}

export type DecodeResult =
  { ok: true; header: ChunkHeader; elements: number } | { ok: false; reason: string };

/**
 * Reads and sanity-checks a header. Returns a reason instead of throwing: a
 * malformed message on a shared NATS server is somebody else's bug, to be
 * counted and dropped, not a crash of this worker.
 */
export function decodeHeader(data: Uint8Array): DecodeResult {
  if (data.byteLength < HEADER_BYTES)
    return { ok: false, reason: `short message (${data.byteLength} bytes)` };
  const v = new DataView(data.buffer, data.byteOffset, HEADER_BYTES);
  if (v.getUint16(0, true) !== HEADER_MAGIC) return { ok: false, reason: "bad magic" };
  const version = v.getUint8(2);
  if (version !== HEADER_VERSION) return { ok: false, reason: `unsupported header version ${version}` };
  const kind = v.getUint8(3);
  if (kind !== ChunkKind.reduceScatter && kind !== ChunkKind.allGather && kind !== ChunkKind.broadcast) {
    return { ok: false, reason: `unknown chunk kind ${kind}` };
  }
  const payloadBytes = data.byteLength - HEADER_BYTES;
  if (payloadBytes % 4 !== 0)
    return { ok: false, reason: `payload of ${payloadBytes} bytes is not whole float32s` };
  const header: ChunkHeader = {
    kind,
    jobHash: v.getUint32(4, true),
    attempt: v.getUint32(8, true),
    step: v.getUint32(12, true),
    rank: v.getUint16(16, true),
    worldSize: v.getUint16(18, true),
    chunkIndex: v.getUint32(20, true),
    chunkCount: v.getUint32(24, true),
    offset: v.getUint32(28, true),
    total: v.getUint32(32, true),
  };
  const elements = payloadBytes / 4;
  if (header.chunkIndex >= header.chunkCount) {
    return { ok: false, reason: `chunk ${header.chunkIndex} of ${header.chunkCount}` };
  }
  if (header.offset + elements > header.total) {
    return {
      ok: false,
      reason: `chunk [${header.offset}, ${header.offset + elements}) beyond total ${header.total}`,
    };
  }
  if (header.rank >= header.worldSize) {
    return { ok: false, reason: `rank ${header.rank} outside world size ${header.worldSize}` };
  }
  return { ok: true, header, elements };
}

/**
 * The float32 payload of a decoded message. A view over the received bytes
 * when they are 4-byte aligned (the common case: the NATS client hands out
 * fresh or concatenated buffers), a copy otherwise — Float32Array cannot view
 * an unaligned offset. Assumes little-endian hosts, like every platform Node
 * ships for (checked once in collective.ts).
 */
export function payloadFloats(data: Uint8Array, elements: number): Float32Array {
  const start = data.byteOffset + HEADER_BYTES;
  if (start % 4 === 0) return new Float32Array(data.buffer, start, elements);
  const copy = new Float32Array(elements);
  new Uint8Array(copy.buffer).set(data.subarray(HEADER_BYTES, HEADER_BYTES + elements * 4));
  return copy;
}

/** A fresh message buffer (header + payload copied from `src`). Fresh because
 * the NATS client keeps a reference to the payload until its next flush, so a
 * reused scratch buffer would be overwritten before it is sent. */
export function buildMessage(h: ChunkHeader, src: Float32Array, offset: number, length: number): Uint8Array {
  const msg = new Uint8Array(HEADER_BYTES + length * 4);
  encodeHeader(msg, h);
  msg.set(new Uint8Array(src.buffer, src.byteOffset + offset * 4, length * 4), HEADER_BYTES);
  return msg;
}
