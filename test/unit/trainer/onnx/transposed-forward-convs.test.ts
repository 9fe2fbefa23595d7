// The rewrite of large, narrowing forward convs into the ConvTranspose of
// their flipped kernel (trainer/onnx/transposed-forward-convs.ts): which
// convs it takes, and that ONNX Runtime computes the same values both ways.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../../../model/onnx/graph.js";
import * as ops from "../../../../model/onnx/ops.js";
import { serializeModel } from "../../../../model/onnx/serialize.js";
import { runNarrowConvsTransposed } from "../../../../trainer/onnx/transposed-forward-convs.js";

const random = (n: number, seed: number) =>
  Float32Array.from({ length: n }, (_, i) => Math.sin(seed * 1000 + i * 12.9898) * 0.5);

/** W [m, c, k, k] flipped in space with in/out swapped: [c, m, k, k]. */
function flip(w: Float32Array, m: number, c: number, k: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < m; o++)
    for (let i = 0; i < c; i++)
      for (let a = 0; a < k; a++)
        for (let b = 0; b < k; b++)
          out[((i * m + o) * k + (k - 1 - a)) * k + (k - 1 - b)] = w[((o * c + i) * k + a) * k + b]!;
  return out;
}

interface Case {
  m: number;
  c: number;
  k: number;
  pads: [number, number, number, number];
  strides?: [number, number];
}

function build(spec: Case, rewrite: boolean): { bytes: Uint8Array; rewritten: number } {
  const g = new GraphBuilder("conv");
  const x = g.input("x", [2, spec.c, 13, 11]);
  const w = g.input("w", [spec.m, spec.c, spec.k, spec.k]);
  const wf = g.input("wf", [spec.c, spec.m, spec.k, spec.k]);
  const b = g.input("b", [spec.m]);
  const opts = { pads: spec.pads, ...(spec.strides ? { strides: spec.strides } : {}) };
  g.namedOutput(ops.conv(g, x, w, b, opts), "y");
  const rewritten = rewrite ? runNarrowConvsTransposed(g, new Map([[w, wf]])) : 0;
  return { bytes: serializeModel(g, { producer: "test", producerVersion: "1" }), rewritten };
}

async function run(bytes: Uint8Array, spec: Case): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ["cpu"] });
  const { m, c, k } = spec;
  const w = random(m * c * k * k, 2);
  const out = await session.run({
    x: new ort.Tensor("float32", random(2 * c * 13 * 11, 1), [2, c, 13, 11]),
    w: new ort.Tensor("float32", w, [m, c, k, k]),
    wf: new ort.Tensor("float32", flip(w, m, c, k), [c, m, k, k]),
    b: new ort.Tensor("float32", random(m, 3), [m]),
  });
  await session.release();
  return out.y!.data as Float32Array;
}

describe("large narrowing forward convs as ConvTranspose of the flipped kernel", () => {
  for (const spec of [
    { m: 3, c: 8, k: 5, pads: [0, 0, 0, 0] },
    { m: 3, c: 8, k: 9, pads: [4, 3, 2, 4] },
  ] satisfies Case[]) {
    it(`rewrites ${spec.c} → ${spec.m}, ${spec.k}×${spec.k}, pads ${spec.pads.join(",")} with the same values`, async () => {
      const plain = build(spec, false);
      const rewritten = build(spec, true);
      assert.equal(rewritten.rewritten, 1);
      const expected = await run(plain.bytes, spec);
      const actual = await run(rewritten.bytes, spec);
      assert.equal(actual.length, expected.length);
      const scale = Math.max(...expected.map(Math.abs));
      for (let i = 0; i < expected.length; i++)
        assert.ok(Math.abs(actual[i]! - expected[i]!) <= 1e-5 * scale, `element ${i}`);
    });
  }

  for (const [why, spec] of [
    ["a 3×3 kernel", { m: 3, c: 8, k: 3, pads: [1, 1, 1, 1] }],
    ["more output than input channels", { m: 8, c: 3, k: 9, pads: [4, 4, 4, 4] }],
    ["a strided conv", { m: 3, c: 8, k: 5, pads: [2, 2, 2, 2], strides: [2, 2] }],
  ] as [string, Case][]) {
    it(`leaves ${why} alone`, () => {
      assert.equal(build(spec, true).rewritten, 0);
    });
  }
});
