import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  ChunkKind,
  HEADER_BYTES,
  buildMessage,
  decodeHeader,
  encodeHeader,
  jobHash,
  payloadFloats,
  type ChunkHeader,
} from "../../../trainer/collectives/header.js";

const sample: ChunkHeader = {
  kind: ChunkKind.allGather,
  jobHash: jobHash("7c9e6679-7425-40de-944b-e07fc1f90ae7"),
  attempt: 3,
  step: 0xfffffffe,
  rank: 65534,
  worldSize: 65535,
  chunkIndex: 4,
  chunkCount: 9,
  offset: 1_000_000,
  total: 1_000_002,
};

describe("chunk header codec", () => {
  it("round-trips every field, including values near the field limits", () => {
    const msg = new Uint8Array(HEADER_BYTES + 8);
    encodeHeader(msg, sample);
    const d = decodeHeader(msg);
    assert.ok(d.ok, !d.ok ? d.reason : "");
    assert.deepEqual(d.header, sample);
    assert.equal(d.elements, 2);
  });

  it("is little-endian with the documented layout", () => {
    const msg = new Uint8Array(HEADER_BYTES);
    encodeHeader(msg, { ...sample, chunkCount: 5, chunkIndex: 0, offset: 0, total: 0x01020304 });
    assert.deepEqual([...msg.subarray(0, 4)], [0x53, 0x4b, 1, ChunkKind.allGather]);
    assert.deepEqual([...msg.subarray(32, 36)], [0x04, 0x03, 0x02, 0x01]);
    assert.equal(HEADER_BYTES % 4, 0, "payload must stay float32-aligned");
  });

  it("rejects out-of-range fields when encoding", () => {
    const msg = new Uint8Array(HEADER_BYTES);
    assert.throws(() => encodeHeader(msg, { ...sample, rank: 70_000 }), /rank=70000/);
    assert.throws(() => encodeHeader(msg, { ...sample, step: -1 }), /step=-1/);
    assert.throws(() => encodeHeader(new Uint8Array(10), sample), /needs 36 bytes/);
  });

  it("refuses malformed messages with a reason", () => {
    const good = new Uint8Array(HEADER_BYTES + 4);
    encodeHeader(good, { ...sample, offset: 0, total: 1, chunkIndex: 0, chunkCount: 1 });
    assert.ok(decodeHeader(good).ok);
    assert.match(reason(good.subarray(0, 20)), /short/);
    const badMagic = good.slice();
    badMagic[0] = 0;
    assert.match(reason(badMagic), /magic/);
    const badVersion = good.slice();
    badVersion[2] = 9;
    assert.match(reason(badVersion), /version 9/);
    assert.match(reason(concat(good, new Uint8Array(2))), /not whole float32s/);
    assert.match(reason(concat(good, new Uint8Array(4))), /beyond total/);
    const badChunk = new Uint8Array(HEADER_BYTES);
    encodeHeader(badChunk, { ...sample, chunkIndex: 9, chunkCount: 9 });
    assert.match(reason(badChunk), /chunk 9 of 9/);
    const badRank = new Uint8Array(HEADER_BYTES);
    encodeHeader(badRank, { ...sample, rank: 3, worldSize: 3 });
    assert.match(reason(badRank), /rank 3 outside world size 3/);
  });

  it("job hashes differ between jobs and are stable", () => {
    assert.equal(jobHash("a"), 0xe40c292c); // FNV-1a reference value
    assert.notEqual(jobHash("job-1"), jobHash("job-2"));
  });
});

describe("payload views", () => {
  it("views aligned payloads without copying", () => {
    const src = Float32Array.from([1.5, -2.25, 3e-8, 7]);
    const msg = buildMessage({ ...sample, offset: 0, total: 4, chunkIndex: 0, chunkCount: 1 }, src, 1, 2);
    const d = decodeHeader(msg);
    assert.ok(d.ok);
    const view = payloadFloats(msg, d.elements);
    assert.deepEqual([...view], [-2.25, Math.fround(3e-8)]);
    assert.equal(view.buffer, msg.buffer, "aligned payload is a view");
  });

  it("copies unaligned payloads (byteOffset % 4 !== 0)", () => {
    const src = Float32Array.from([0.1, 0.2, 0.3]);
    const msg = buildMessage({ ...sample, offset: 0, total: 3, chunkIndex: 0, chunkCount: 1 }, src, 0, 3);
    const backing = new Uint8Array(msg.byteLength + 1);
    backing.set(msg, 1);
    const unaligned = backing.subarray(1);
    assert.equal(unaligned.byteOffset % 4, 1);
    const view = payloadFloats(unaligned, 3);
    assert.deepEqual([...view], [...src]);
    assert.notEqual(view.buffer, backing.buffer, "unaligned payload is copied");
  });

  it("buildMessage copies, so later changes to the source do not leak into a queued message", () => {
    const src = Float32Array.from([1, 2]);
    const msg = buildMessage({ ...sample, offset: 0, total: 2, chunkIndex: 0, chunkCount: 1 }, src, 0, 2);
    src[0] = 99;
    assert.equal(payloadFloats(msg, 2)[0], 1);
  });
});

function reason(data: Uint8Array): string {
  const d = decodeHeader(data);
  assert.equal(d.ok, false);
  return d.ok ? "" : d.reason;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
