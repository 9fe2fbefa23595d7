// Limited-memory BFGS (Nocedal & Wright, algorithm 7.4): the search
// direction −H·g from the last `history` curvature pairs. The step length
// and any projection are the caller's (optimize-image.ts backtracks from
// step 1, and clips pixels to [0, 255] as the paper's projected L-BFGS does).

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

export class Lbfgs {
  private readonly s: Float32Array[] = [];
  private readonly y: Float32Array[] = [];
  private readonly rho: number[] = [];
  /** γ = sᵀy / yᵀy of the newest pair: the initial inverse Hessian is γ·I. */
  private gamma = 1;

  /** @param history correction pairs kept (neural-style keeps 100). */
  constructor(readonly history = 100) {
    if (!Number.isInteger(history) || history < 1)
      throw new Error(`L-BFGS history must be ≥ 1, got ${history}`);
  }

  get pairs(): number {
    return this.s.length;
  }

  /**
   * Adds the pair s = x₁ − x₀, y = g₁ − g₀ of the step just taken. Pairs
   * without positive curvature (sᵀy ≤ 0, possible on a non-convex loss or
   * after a projection) are skipped: they would make H indefinite.
   */
  remember(s: Float32Array, y: Float32Array): boolean {
    if (s.length !== y.length) throw new Error(`L-BFGS: s has ${s.length} values, y has ${y.length}`);
    const ys = dot(y, s);
    const yy = dot(y, y);
    if (!(ys > 1e-10 * Math.max(1, yy))) return false;
    if (this.s.length === this.history) {
      this.s.shift();
      this.y.shift();
      this.rho.shift();
    }
    this.s.push(s);
    this.y.push(y);
    this.rho.push(1 / ys);
    this.gamma = ys / yy;
    return true;
  }

  /** −H·g by the two-loop recursion; −g while no pair is known. */
  direction(g: Float32Array): Float32Array {
    const q = new Float32Array(g.length);
    for (let i = 0; i < g.length; i++) q[i] = -g[i]!;
    const alpha = new Array<number>(this.s.length);
    for (let k = this.s.length - 1; k >= 0; k--) {
      const a = this.rho[k]! * dot(this.s[k]!, q);
      alpha[k] = a;
      const yk = this.y[k]!;
      for (let i = 0; i < q.length; i++) q[i] = q[i]! - a * yk[i]!;
    }
    if (this.s.length > 0) for (let i = 0; i < q.length; i++) q[i] = q[i]! * this.gamma;
    for (let k = 0; k < this.s.length; k++) {
      const coef = alpha[k]! - this.rho[k]! * dot(this.y[k]!, q);
      const sk = this.s[k]!;
      for (let i = 0; i < q.length; i++) q[i] = q[i]! + coef * sk[i]!;
    }
    return q;
  }
}
