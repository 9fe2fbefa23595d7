// Who owns which part of the buffer, and how a part is cut into NATS-sized
// chunks. Pure arithmetic shared by every rank: all ranks must derive exactly
// the same slices and chunk boundaries from (length, world size, chunk size),
// because an owner recognises a contribution by its (offset, length).

import { HEADER_BYTES } from "./header.js";

/** A half-open range of float32 elements: [start, start + length). */
export interface Range {
  start: number;
  length: number;
}

export interface Chunk {
  index: number;
  count: number;
  /** element offset into the whole buffer */
  offset: number;
  length: number;
}

/**
 * The contiguous slice rank `rank` owns in a buffer of `length` elements split
 * over `worldSize` ranks. The first `length % worldSize` ranks get one element
 * more, so slices differ by at most one element and cover the buffer exactly.
 */
export function sliceOf(length: number, worldSize: number, rank: number): Range {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`bad length ${length}`);
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`bad world size ${worldSize}`);
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`bad rank ${rank}`);
  const base = Math.floor(length / worldSize);
  const rem = length % worldSize;
  return { start: rank * base + Math.min(rank, rem), length: base + (rank < rem ? 1 : 0) };
}

/** The rank whose slice contains element `index`. */
export function ownerOf(index: number, length: number, worldSize: number): number {
  if (index < 0 || index >= length) throw new RangeError(`index ${index} outside buffer of ${length}`);
  const base = Math.floor(length / worldSize);
  const rem = length % worldSize;
  const bigSpan = rem * (base + 1); // the first `rem` slices are one element longer
  return index < bigSpan ? Math.floor(index / (base + 1)) : rem + Math.floor((index - bigSpan) / base);
}

/**
 * How many float32 elements fit in one message: the server's max_payload
 * minus our header, optionally capped lower (smaller chunks pipeline better
 * and keep each NATS write short).
 */
export function chunkElementsFor(maxPayload: number, maxChunkBytes?: number): number {
  const budget = Math.min(maxPayload, maxChunkBytes ?? Number.POSITIVE_INFINITY) - HEADER_BYTES;
  const elements = Math.floor(budget / 4);
  if (elements < 1)
    throw new RangeError(`max payload ${maxPayload} leaves no room for data after the header`);
  return elements;
}

/** Number of chunks a range of `length` elements needs (0 for an empty range). */
export function chunkCount(length: number, chunkElements: number): number {
  return Math.ceil(length / chunkElements);
}

/** Cuts `range` into chunks of at most `chunkElements` elements, in order. */
export function chunksOf(range: Range, chunkElements: number): Chunk[] {
  if (!Number.isInteger(chunkElements) || chunkElements < 1)
    throw new RangeError(`bad chunk size ${chunkElements}`);
  const count = chunkCount(range.length, chunkElements);
  const chunks: Chunk[] = [];
  for (let index = 0; index < count; index++) {
    const offset = range.start + index * chunkElements;
    chunks.push({
      index,
      count,
      offset,
      length: Math.min(chunkElements, range.start + range.length - offset),
    });
  }
  return chunks;
}

/**
 * Reassembles one range from its chunks, arriving in any order, possibly
 * duplicated: copies each new chunk into `target` and says when the range is
 * complete. A chunk that does not match the expected cut (wrong offset, length
 * or count) is rejected so a confused peer cannot scribble over the buffer.
 */
export class ChunkAssembler {
  private readonly expected: Chunk[];
  private readonly seen: Uint8Array;
  private received = 0;

  constructor(
    private readonly target: Float32Array,
    readonly range: Range,
    chunkElements: number,
  ) {
    if (range.start + range.length > target.length) {
      throw new RangeError(
        `range [${range.start}, ${range.start + range.length}) outside target of ${target.length}`,
      );
    }
    this.expected = chunksOf(range, chunkElements);
    this.seen = new Uint8Array(this.expected.length);
  }

  get complete(): boolean {
    return this.received === this.expected.length;
  }

  get receivedChunks(): number {
    return this.received;
  }

  get totalChunks(): number {
    return this.expected.length;
  }

  /** Checks that (index, count, offset, length) is one of this range's chunks. */
  matches(index: number, count: number, offset: number, length: number): boolean {
    const c = this.expected[index];
    return c !== undefined && c.count === count && c.offset === offset && c.length === length;
  }

  /** Records a chunk without copying (the caller already wrote it in place). */
  mark(index: number): "new" | "duplicate" {
    if (this.seen[index] === 1) return "duplicate";
    this.seen[index] = 1;
    this.received++;
    return "new";
  }

  /** Copies a chunk into place. Returns "new", "duplicate" or "mismatch". */
  accept(index: number, count: number, offset: number, data: Float32Array): "new" | "duplicate" | "mismatch" {
    if (!this.matches(index, count, offset, data.length)) return "mismatch";
    if (this.seen[index] === 1) return "duplicate";
    this.target.set(data, offset);
    return this.mark(index);
  }
}
