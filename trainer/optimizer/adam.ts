// Adam (Kingma & Ba), as the paper trains with it (lr 1e-3), with its whole
// state in plain variables we own. tfjs's optimizer keeps β₁ᵗ and β₂ᵗ as
// running products and recomputes them with pow() when its weights are
// restored, so a resumed run drifts from an uninterrupted one in the last
// bits; here the bias corrections come from the integer step count, and a
// checkpoint restores the optimizer exactly.
import * as tf from "@tensorflow/tfjs-core";
import type { ParameterMap } from "../model/parameters.js";

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

export class Adam implements Optimizer {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  step = 0;

  constructor(
    readonly learningRate = 1e-3,
    readonly beta1 = 0.9,
    readonly beta2 = 0.999,
    readonly epsilon = 1e-8,
  ) {}

  /** The moment variables of a parameter, created as zeros on first use. */
  private slots(name: string, like: tf.Tensor): [tf.Variable, tf.Variable] {
    let m = this.m.get(name);
    let v = this.v.get(name);
    if (!m || !v) {
      m = tf.variable(tf.zerosLike(like), false);
      v = tf.variable(tf.zerosLike(like), false);
      this.m.set(name, m);
      this.v.set(name, v);
    }
    return [m, v];
  }

  apply(params: ParameterMap, grads: Map<string, tf.Tensor>): void {
    this.step++;
    // Exact in float64 from the integer step, so a restored optimizer computes the same numbers.
    const stepSize =
      (this.learningRate * Math.sqrt(1 - this.beta2 ** this.step)) / (1 - this.beta1 ** this.step);
    tf.tidy(() => {
      for (const [name, g] of grads) {
        const p = params.get(name);
        if (!p) throw new Error(`gradient for unknown parameter ${name}`);
        const [m, v] = this.slots(name, p);
        const m1 = tf.add(tf.mul(m, this.beta1), tf.mul(g, 1 - this.beta1));
        const v1 = tf.add(tf.mul(v, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        m.assign(m1);
        v.assign(v1);
        p.assign(tf.sub(p, tf.div(tf.mul(m1, stepSize), tf.add(tf.sqrt(v1), this.epsilon))));
      }
    });
    tf.dispose([...grads.values()]);
  }

  /** A copy of the state, read asynchronously (the webgpu backend cannot read synchronously under Node). */
  async state(): Promise<AdamState> {
    const read = async (map: Map<string, tf.Variable>): Promise<Map<string, Float32Array>> => {
      const out = new Map<string, Float32Array>();
      for (const [name, t] of map) out.set(name, Float32Array.from((await t.data()) as Float32Array));
      return out;
    };
    return { step: this.step, m: await read(this.m), v: await read(this.v) };
  }

  /** Restores a saved state for these parameters (exactly: same moments, same step). */
  load(params: ParameterMap, state: AdamState): void {
    for (const [name, p] of params) {
      const m = state.m.get(name);
      const v = state.v.get(name);
      if (state.step === 0 && !m && !v) continue;
      if (!m || !v || m.length !== p.size || v.length !== p.size) {
        throw new Error(`optimizer state: the moments of ${name} are missing or have the wrong size`);
      }
      const [mv, vv] = this.slots(name, p);
      tf.tidy(() => {
        mv.assign(tf.tensor(m, p.shape, "float32"));
        vv.assign(tf.tensor(v, p.shape, "float32"));
      });
    }
    this.step = state.step;
  }

  dispose(): void {
    tf.dispose([...this.m.values(), ...this.v.values()]);
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
