import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { dot, Lbfgs } from "../../../trainer/gatys/lbfgs.js";

/** f(x) = ½ Σ aᵢ (xᵢ − cᵢ)², an ill-conditioned quadratic (condition number 1000). */
const a = Float32Array.from([1, 10, 100, 1000]);
const c = Float32Array.from([3, -2, 0.5, 7]);
const gradient = (x: Float32Array) => x.map((v, i) => a[i]! * (v - c[i]!));

/** L-BFGS with an exact line search on the quadratic: t = −gᵀd / dᵀAd. */
function minimise(history: number, iterations: number): { x: Float32Array; pairs: number } {
  const lbfgs = new Lbfgs(history);
  let x = new Float32Array(4);
  let g = gradient(x);
  for (let k = 0; k < iterations; k++) {
    const d = lbfgs.direction(g);
    const dAd = d.reduce((s, v, i) => s + a[i]! * v * v, 0);
    if (dAd === 0) break;
    const t = -dot(g, d) / dAd;
    const next = x.map((v, i) => v + t * d[i]!);
    const gNext = gradient(next);
    lbfgs.remember(
      next.map((v, i) => v - x[i]!),
      gNext.map((v, i) => v - g[i]!),
    );
    x = next;
    g = gNext;
  }
  return { x, pairs: lbfgs.pairs };
}

describe("L-BFGS (trainer/gatys/lbfgs.ts)", () => {
  it("first direction is the negative gradient", () => {
    const g = Float32Array.from([1, -2, 3]);
    assert.deepEqual([...new Lbfgs().direction(g)], [-1, 2, -3]);
  });

  it("minimises an ill-conditioned quadratic in as many steps as dimensions (exact line search)", () => {
    const { x } = minimise(10, 6);
    for (let i = 0; i < 4; i++) assert.ok(Math.abs(x[i]! - c[i]!) < 1e-3, `x[${i}] = ${x[i]} ≠ ${c[i]}`);
  });

  it("beats steepest descent by orders of magnitude on the same budget", () => {
    const lbfgs = minimise(10, 6).x;
    const sd = minimise(1, 1).x; // one pair kept at most: close to steepest descent after the first step
    const err = (x: Float32Array) => Math.hypot(...x.map((v, i) => v - c[i]!));
    assert.ok(err(lbfgs) < err(sd) / 100, `L-BFGS error ${err(lbfgs)}, one-step ${err(sd)}`);
  });

  it("keeps at most `history` pairs and skips pairs without positive curvature", () => {
    const lbfgs = new Lbfgs(2);
    const one = Float32Array.from([1, 0]);
    assert.equal(lbfgs.remember(one, Float32Array.from([-1, 0])), false);
    assert.equal(lbfgs.pairs, 0);
    for (let k = 0; k < 5; k++) lbfgs.remember(one, Float32Array.from([2, 0]));
    assert.equal(lbfgs.pairs, 2);
    // With curvature 2 along the first axis, −H·g is −g/2 there.
    assert.deepEqual([...lbfgs.direction(Float32Array.from([4, 0]))], [-2, 0]);
  });

  it("refuses a history below 1", () => {
    assert.throws(() => new Lbfgs(0), /history must be ≥ 1/);
  });
});
