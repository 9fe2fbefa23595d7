// Our Adam (trainer/optimizer/adam.ts) updates all parameters as one flat
// vector. This checks it against Adam written the textbook way, one
// parameter tensor at a time (Kingma & Ba, algorithm 1, with the bias
// corrections folded into the step size and ε added to √v, as tfjs and
// Keras do; PyTorch adds ε to √v̂ instead), bit for bit on cpu (where it is
// one JavaScript loop, not kernels) and wasm, and
// counts the kernels a step costs.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../trainer/engine/engines.js";
import { flattenTensors, type ParameterMap } from "../../../model/parameters.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { Adam } from "../../../trainer/optimizer/adam.js";

/** Reference: per-parameter Adam, the arithmetic our optimizer must reproduce exactly. */
function referenceAdam(lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8) {
  const m = new Map<string, tf.Variable>();
  const v = new Map<string, tf.Variable>();
  let t = 0;
  return (params: ParameterMap, grads: Map<string, tf.Tensor>): void => {
    t++;
    const stepSize = (lr * Math.sqrt(1 - beta2 ** t)) / (1 - beta1 ** t);
    tf.tidy(() => {
      for (const [name, g] of grads) {
        const p = params.get(name) as tf.Variable;
        if (!m.has(name)) {
          m.set(name, tf.variable(tf.zerosLike(p), false));
          v.set(name, tf.variable(tf.zerosLike(p), false));
        }
        const mv = m.get(name) as tf.Variable;
        const vv = v.get(name) as tf.Variable;
        const m1 = tf.add(tf.mul(mv, beta1), tf.mul(g, 1 - beta1));
        const v1 = tf.add(tf.mul(vv, beta2), tf.mul(tf.square(g), 1 - beta2));
        mv.assign(m1);
        vv.assign(v1);
        p.assign(tf.sub(p, tf.div(tf.mul(m1, stepSize), tf.add(tf.sqrt(v1), eps))));
      }
    });
  };
}

/** Gradients that differ per step and per parameter, identical on every backend. */
function gradients(params: ParameterMap, step: number): Map<string, tf.Tensor> {
  let k = 0;
  return new Map(
    [...params].map(([name, p]) => {
      k++;
      const n = p.size;
      const values = Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + k * 1.7 + step) * 1e-2);
      return [name, tf.tensor(values, p.shape, "float32")];
    }),
  );
}

describe("Adam over one flat vector", () => {
  after(async () => {
    await initEngine("cpu");
  });

  for (const engine of ["cpu", "wasm"] as const) {
    it(`matches per-parameter Adam bit for bit over 3 steps (${engine})`, async () => {
      await initEngine(engine);
      const ours = new TransformerNet({ seed: 9 });
      const theirs = new TransformerNet({ seed: 9 });
      const adam = new Adam();
      const reference = referenceAdam();
      for (let step = 0; step < 3; step++) {
        adam.apply(ours.params, gradients(ours.params, step));
        const g = gradients(theirs.params, step);
        reference(theirs.params, g);
        tf.dispose([...g.values()]);
      }
      const a = await flattenTensors(ours.params);
      const b = await flattenTensors(theirs.params);
      assert.ok(
        Buffer.from(a.buffer).equals(Buffer.from(b.buffer)),
        "weights differ from per-parameter Adam",
      );
      const start = await flattenTensors(new TransformerNet({ seed: 9 }).params);
      assert.ok(!Buffer.from(a.buffer).equals(Buffer.from(start.buffer)), "the steps changed the weights");
      adam.dispose();
      ours.dispose();
      theirs.dispose();
    });
  }

  it("saves and restores its moments per parameter", async () => {
    await initEngine("cpu");
    const net = new TransformerNet({ seed: 3 });
    const adam = new Adam();
    adam.apply(net.params, gradients(net.params, 0));
    const state = await adam.state();
    assert.equal(state.step, 1);
    assert.deepEqual([...state.m.keys()], [...net.params.keys()]);
    for (const [name, p] of net.params) assert.equal(state.m.get(name)?.length, p.size, name);
    // First moment after one step from zero: (1 − β₁)·g.
    const g0 = gradients(net.params, 0);
    const expected = (await g0.get("out.conv.bias")?.data()) as Float32Array;
    const got = state.m.get("out.conv.bias") as Float32Array;
    expected.forEach((x, i) => assert.equal(got[i], Math.fround(x * Math.fround(1 - 0.9))));
    const restored = new Adam();
    restored.load(net.params, state);
    const again = await restored.state();
    assert.equal(again.step, 1);
    for (const name of net.params.keys()) assert.deepEqual(again.v.get(name), state.v.get(name), name);
    tf.dispose([...g0.values()]);
    adam.dispose();
    restored.dispose();
    net.dispose();
  });

  it("costs a fixed dozen kernels plus a slice and a subtraction per parameter (wasm)", async (t) => {
    await initEngine("wasm");
    const net = new TransformerNet({ seed: 4 });
    const adam = new Adam();
    const grads = gradients(net.params, 0);
    const profile = await tf.profile(() => adam.apply(net.params, grads));
    const kernels = profile.kernels.filter((k) => k.name !== "Reshape").length;
    // 62 parameters: 62 slices + 62 subtractions + Concat + 11 element-wise (per-parameter Adam: 744).
    t.diagnostic(`${kernels} kernels (besides reshapes) for ${net.params.size} parameters`);
    assert.ok(kernels <= 2 * net.params.size + 16, `${kernels} kernels for ${net.params.size} parameters`);
    adam.dispose();
    net.dispose();
  });

  it("on the cpu backend runs as one JavaScript loop: no kernels", async () => {
    await initEngine("cpu");
    const net = new TransformerNet({ seed: 4 });
    const adam = new Adam();
    const grads = gradients(net.params, 0);
    const before = await flattenTensors(net.params);
    const profile = await tf.profile(() => adam.apply(net.params, grads));
    assert.deepEqual(
      profile.kernels.map((k) => k.name),
      [],
    );
    const after = await flattenTensors(net.params);
    assert.ok(!Buffer.from(after.buffer).equals(Buffer.from(before.buffer)), "the step changed nothing");
    adam.dispose();
    net.dispose();
  });
});
