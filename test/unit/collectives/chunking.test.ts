import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ChunkAssembler,
  chunkCount,
  chunkElementsFor,
  chunksOf,
  ownerOf,
  sliceOf,
} from "../../../trainer/collectives/chunking.js";
import { HEADER_BYTES } from "../../../trainer/collectives/header.js";

describe("slice ownership", () => {
  it("splits 10 elements over 3 ranks as 4, 3, 3", () => {
    assert.deepEqual(
      [0, 1, 2].map((r) => sliceOf(10, 3, r)),
      [
        { start: 0, length: 4 },
        { start: 4, length: 3 },
        { start: 7, length: 3 },
      ],
    );
  });

  it("covers every buffer exactly, slices differing by at most one, for N not dividing the length", () => {
    for (const n of [0, 1, 2, 5, 7, 97, 1_000_003]) {
      for (const N of [1, 2, 3, 4, 7, 64]) {
        let next = 0;
        const lengths: number[] = [];
        for (let r = 0; r < N; r++) {
          const s = sliceOf(n, N, r);
          assert.equal(s.start, next, `n=${n} N=${N} rank ${r} starts where ${r - 1} ended`);
          next = s.start + s.length;
          lengths.push(s.length);
        }
        assert.equal(next, n, `n=${n} N=${N} slices end at the buffer's end`);
        assert.ok(Math.max(...lengths) - Math.min(...lengths) <= 1, `n=${n} N=${N} balanced`);
      }
    }
  });

  it("gives empty slices to the last ranks when there are fewer elements than ranks", () => {
    assert.deepEqual(sliceOf(2, 4, 1), { start: 1, length: 1 });
    assert.deepEqual(sliceOf(2, 4, 3), { start: 2, length: 0 });
  });

  it("ownerOf agrees with sliceOf", () => {
    for (const [n, N] of [
      [10, 3],
      [11, 4],
      [97, 7],
      [5, 8],
    ] as const) {
      for (let i = 0; i < n; i++) {
        const o = ownerOf(i, n, N);
        const s = sliceOf(n, N, o);
        assert.ok(
          i >= s.start && i < s.start + s.length,
          `n=${n} N=${N} element ${i} is in rank ${o}'s slice`,
        );
      }
    }
  });

  it("rejects bad arguments", () => {
    assert.throws(() => sliceOf(10, 3, 3), /bad rank/);
    assert.throws(() => sliceOf(10, 0, 0), /bad world size/);
    assert.throws(() => sliceOf(-1, 2, 0), /bad length/);
  });
});

describe("chunking", () => {
  it("derives chunk size from max_payload minus the header", () => {
    assert.equal(chunkElementsFor(1024 * 1024), Math.floor((1024 * 1024 - HEADER_BYTES) / 4));
    assert.equal(chunkElementsFor(1024 * 1024), 262_135);
    assert.equal(chunkElementsFor(1024 * 1024, 4096), 1015);
    assert.equal(chunkElementsFor(HEADER_BYTES + 7), 1);
    assert.throws(() => chunkElementsFor(HEADER_BYTES + 3), /no room/);
  });

  it("cuts a range into full chunks plus a remainder, offsets relative to the whole buffer", () => {
    const cs = chunksOf({ start: 100, length: 25 }, 10);
    assert.deepEqual(cs, [
      { index: 0, count: 3, offset: 100, length: 10 },
      { index: 1, count: 3, offset: 110, length: 10 },
      { index: 2, count: 3, offset: 120, length: 5 },
    ]);
    assert.deepEqual(
      chunksOf({ start: 0, length: 20 }, 10).map((c) => c.length),
      [10, 10],
    );
    assert.deepEqual(chunksOf({ start: 5, length: 0 }, 10), []);
    assert.equal(chunkCount(21, 10), 3);
  });

  it("split then join in any order, with duplicates, reproduces the range exactly", () => {
    const n = 1003;
    const src = Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e3);
    const range = { start: 17, length: 977 };
    const chunks = chunksOf(range, 64);
    const out = new Float32Array(n).fill(Number.NaN);
    const asm = new ChunkAssembler(out, range, 64);
    const order = chunks.map((c) => c.index).reverse();
    order.splice(3, 0, order[0]!); // a duplicate
    const results: string[] = [];
    for (const idx of order) {
      const c = chunks[idx]!;
      assert.equal(asm.complete, false);
      results.push(asm.accept(c.index, c.count, c.offset, src.subarray(c.offset, c.offset + c.length)));
    }
    assert.equal(asm.complete, true);
    assert.equal(results.filter((r) => r === "duplicate").length, 1);
    assert.deepEqual(
      out.subarray(range.start, range.start + range.length),
      src.subarray(range.start, range.start + range.length),
    );
    assert.ok(
      Number.isNaN(out[16]!) && Number.isNaN(out[range.start + range.length]!),
      "nothing outside the range is touched",
    );
  });

  it("rejects chunks that do not belong to the range", () => {
    const out = new Float32Array(100);
    const asm = new ChunkAssembler(out, { start: 0, length: 100 }, 30);
    assert.equal(asm.accept(0, 4, 1, new Float32Array(30)), "mismatch", "shifted offset");
    assert.equal(asm.accept(3, 4, 90, new Float32Array(30)), "mismatch", "wrong length for last chunk");
    assert.equal(asm.accept(0, 3, 0, new Float32Array(30)), "mismatch", "wrong count");
    assert.equal(asm.accept(7, 4, 0, new Float32Array(30)), "mismatch", "unknown index");
    assert.equal(asm.receivedChunks, 0);
    assert.throws(() => new ChunkAssembler(out, { start: 90, length: 20 }, 30), /outside target/);
  });

  it("an empty range is complete from the start", () => {
    assert.equal(new ChunkAssembler(new Float32Array(0), { start: 0, length: 0 }, 8).complete, true);
  });
});
