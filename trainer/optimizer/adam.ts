// Adam (Kingma & Ba), as the paper trains with it (lr 1e-3), with its whole
// state in plain variables we own. tfjs's optimizer keeps β₁ᵗ and β₂ᵗ as
// running products and recomputes them with pow() when its weights are
// restored, so a resumed run drifts from an uninterrupted one in the last
// bits; here the bias corrections come from the integer step count, and a
// checkpoint restores the optimizer exactly.
import * as tf from "@tensorflow/tfjs-core";
import type { ParameterMap } from "../../model/parameters.js";

/** What a training loop needs from an optimizer: apply gradients by parameter name. */
export interface Optimizer {
  /** Applies the gradients (by parameter name) to the parameters and disposes them. */
  apply(params: ParameterMap, grads: Map<string, tf.Tensor>): void;
}

export interface AdamState {
  step: number;
  /** First and second moments per parameter name. */
  m: Map<string, Float32Array>;
  v: Map<string, Float32Array>;
}

/**
 * Adam over all parameters at once: the gradients are concatenated into one
 * flat vector and the moments live in two flat variables, so a step is a
 * dozen element-wise kernels on 1.7 M values plus one slice and one
 * subtraction per parameter, instead of twelve kernels per parameter (744
 * for this network). On the webgpu engine every kernel costs ≈250 µs of
 * host time (docs/benchmarks.md), which made the optimizer a quarter of the
 * step's kernels. Element by element the arithmetic is the same as
 * per-parameter Adam, in the same order, so the results are bit-identical
 * to it (tested), and checkpoints keep the moments per parameter.
 */
export class Adam implements Optimizer {
  private m: tf.Variable | undefined;
  private v: tf.Variable | undefined;
  /** The parameter layout of the flat vectors: names in order and sizes. */
  private layout: { name: string; size: number }[] | undefined;
  step = 0;

  constructor(
    /** Set before a step by a learning-rate schedule; the moments do not depend on it. */
    public learningRate = 1e-3,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {}

  /** The flat moment variables for these parameters, created as zeros on first use. */
  private slots(params: ParameterMap): [tf.Variable, tf.Variable] {
    const layout = [...params].map(([name, p]) => ({ name, size: p.size }));
    if (this.m === undefined || this.v === undefined || this.layout === undefined) {
      const total = layout.reduce((n, l) => n + l.size, 0);
      // tidy frees the zeros the variables were made from (variables survive it).
      this.m = tf.tidy(() => tf.variable(tf.zeros([total]), false));
      this.v = tf.tidy(() => tf.variable(tf.zeros([total]), false));
      this.layout = layout;
    } else if (
      layout.length !== this.layout.length ||
      layout.some((l, i) => l.name !== this.layout?.[i]?.name || l.size !== this.layout?.[i]?.size)
    ) {
      throw new Error("optimizer: the parameters changed since the first step");
    }
    return [this.m, this.v];
  }

  apply(params: ParameterMap, grads: Map<string, tf.Tensor>): void {
    try {
      this.update(params, grads);
    } finally {
      tf.dispose([...grads.values()]);
    }
  }

  private update(params: ParameterMap, grads: Map<string, tf.Tensor>): void {
    for (const name of grads.keys()) {
      if (!params.has(name)) throw new Error(`gradient for unknown parameter ${name}`);
    }
    const missing = [...params.keys()].filter((name) => !grads.has(name));
    if (missing.length > 0) throw new Error(`no gradient for parameters ${missing.join(", ")}`);
    const [m, v] = this.slots(params);
    this.step++;
    // Exact in float64 from the integer step, so a restored optimizer computes the same numbers.
    const stepSize =
      (this.learningRate * Math.sqrt(1 - this.beta2 ** this.step)) / (1 - this.beta1 ** this.step);
    if (tf.getBackend() === "cpu") {
      this.updateInPlainArrays(params, grads, m, v, stepSize);
      return;
    }
    tf.tidy(() => {
      const g = tf.concat([...params.keys()].map((name) => tf.reshape(grads.get(name) as tf.Tensor, [-1])));
      const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
      const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
      m.assign(m1);
      v.assign(v1);
      const update = tf.div(tf.mul(m1, stepSize), tf.add(tf.sqrt(v1), this.epsilon));
      let offset = 0;
      for (const [, p] of params) {
        p.assign(tf.sub(p, tf.reshape(tf.slice(update, [offset], [p.size]), p.shape)));
        offset += p.size;
      }
    });
  }

  /**
   * The same update on tfjs's pure-JavaScript cpu backend as one loop over
   * the values instead of a dozen kernels (the onnxruntime engine keeps
   * Adam there; its kernels took ≈380 ms a step for 1.7 M values, as long as
   * the whole forward and backward pass at 128²). Bit for bit the kernels'
   * arithmetic: each operation in float64 then rounded to float32
   * (Math.fround), as the cpu backend stores every kernel's result, with the
   * same operands in the same order and the scalars as float32 tensors.
   */
  private updateInPlainArrays(
    params: ParameterMap,
    grads: Map<string, tf.Tensor>,
    m: tf.Variable,
    v: tf.Variable,
    stepSize: number,
  ): void {
    const f = Math.fround;
    const [beta1, oneMinusBeta1] = [f(this.beta1), f(1 - this.beta1)];
    const [beta2, oneMinusBeta2] = [f(this.beta2), f(1 - this.beta2)];
    const [step, epsilon] = [f(stepSize), f(this.epsilon)];
    // The cpu backend's own synchronous read: this path runs on that backend
    // only, which keeps values in JavaScript arrays. (The engine-level
    // dataSync is what a webgpu backend cannot do under Node, and a test
    // forbids it on the training path.)
    const values = (t: tf.Tensor) => tf.backend().readSync(t.dataId) as Float32Array;
    const mOld = values(m);
    const vOld = values(v);
    const mNew = new Float32Array(mOld.length);
    const vNew = new Float32Array(vOld.length);
    const updated: [tf.Variable, Float32Array][] = [];
    let offset = 0;
    for (const [name, p] of params) {
      const g = values(grads.get(name) as tf.Tensor);
      const w = values(p);
      const out = new Float32Array(p.size);
      for (let i = 0; i < out.length; i++) {
        const k = offset + i;
        const gi = g[i]!;
        const m1 = f(f(mOld[k]! * beta1) + f(gi * oneMinusBeta1));
        const v1 = f(f(vOld[k]! * beta2) + f(f(gi * gi) * oneMinusBeta2));
        mNew[k] = m1;
        vNew[k] = v1;
        out[i] = w[i]! - f(f(m1 * step) / f(f(Math.sqrt(v1)) + epsilon));
      }
      updated.push([p, out]);
      offset += p.size;
    }
    tf.tidy(() => {
      m.assign(tf.tensor1d(mNew, "float32"));
      v.assign(tf.tensor1d(vNew, "float32"));
      for (const [p, out] of updated) p.assign(tf.tensor(out, p.shape, "float32"));
    });
  }

  /** A copy of the state, read asynchronously (the webgpu backend cannot read synchronously under Node). */
  async state(): Promise<AdamState> {
    const m = new Map<string, Float32Array>();
    const v = new Map<string, Float32Array>();
    if (this.m !== undefined && this.v !== undefined && this.layout !== undefined) {
      const [mAll, vAll] = (await Promise.all([this.m.data(), this.v.data()])) as [
        Float32Array,
        Float32Array,
      ];
      let offset = 0;
      for (const { name, size } of this.layout) {
        m.set(name, mAll.slice(offset, offset + size));
        v.set(name, vAll.slice(offset, offset + size));
        offset += size;
      }
    }
    return { step: this.step, m, v };
  }

  /** Restores a saved state for these parameters (exactly: same moments, same step). */
  load(params: ParameterMap, state: AdamState): void {
    if (state.step === 0 && state.m.size === 0 && state.v.size === 0) {
      this.step = 0;
      return;
    }
    const mParts: Float32Array[] = [];
    const vParts: Float32Array[] = [];
    for (const [name, p] of params) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (!m || !v || m.length !== p.size || v.length !== p.size) {
        throw new Error(`optimizer state: the moments of ${name} are missing or have the wrong size`);
      }
      mParts.push(m);
      vParts.push(v);
    }
    const [mv, vv] = this.slots(params);
    const flat = (parts: Float32Array[]): Float32Array => {
      const out = new Float32Array(parts.reduce((n, a) => n + a.length, 0));
      let offset = 0;
      for (const a of parts) {
        out.set(a, offset);
        offset += a.length;
      }
      return out;
    };
    tf.tidy(() => {
      mv.assign(tf.tensor1d(flat(mParts), "float32"));
      vv.assign(tf.tensor1d(flat(vParts), "float32"));
    });
    this.step = state.step;
  }

  dispose(): void {
    tf.dispose([this.m, this.v].filter((t): t is tf.Variable => t !== undefined));
  }
}

/** Plain SGD, for tests that compare runs to float tolerance (Adam's m/√v amplifies float noise). */
export class Sgd implements Optimizer {
  constructor(readonly learningRate: number) {}

  apply(params: ParameterMap, grads: Map<string, tf.Tensor>): void {
    tf.tidy(() => {
      for (const [name, g] of grads) {
        const p = params.get(name);
        if (!p) throw new Error(`gradient for unknown parameter ${name}`);
        p.assign(tf.sub(p, tf.mul(g, this.learningRate)));
      }
    });
    tf.dispose([...grads.values()]);
  }
}
