// How much memory the onnxruntime engine's sessions keep between requests.
//
// ONNX Runtime's CPU memory arena belongs to a session (one per model) and
// keeps its high-water mark: after one 1024² request a session holds
// ≈1.1 GiB until it is released, so three styles that each served one 1024²
// image hold ≈3.4 GiB (measured, docs/onnx.md), over a replica's 2Gi. Turning
// the arena off returns memory after every run but costs 10–30 % at 256²–512²
// and 2–3× at 1024² (every activation page-faulted anew each run). So the
// arena stays on, and a session whose arena grew too big, or the least
// recently used ones when all together hold too much, is recycled: released
// (its arena goes back to the system) and created again from the model's
// bytes (≈0.1 s, plus a slower first run).
//
// The arena's size is taken as proportional to the largest image a session
// has run since it was created (measured ≈1.1 KiB per pixel), so the budget
// is in pixels. Memory of the engine at any moment is then at most the
// sessions' weights + this budget's arenas + one running request's arena
// (up to STYLEKUBE_ONNX_MAX_PIXELS).

/** A session that ran more pixels than this is recycled after the request (its arena is ≈ 290 MiB at 512²). */
export const KEEP_PIXELS = 512 * 512;
/** Largest images of all kept arenas together (≈ 290 MiB): e.g. one style at 512², or four at 256². */
export const BUDGET_PIXELS = 512 * 512;

/** What the budget recycles: a session that releases its memory and is created again. */
export interface Recyclable {
  recycle(): Promise<void>;
}

export class ArenaBudget<Session extends Recyclable> {
  /** Largest image (pixels) each session has run since it was created; in least- to most-recently-used order. */
  readonly #highWater = new Map<Session, number>();
  /** Recycles under way: shutting down during one (terminating the thread mid-way) aborts the process. */
  readonly #recycling = new Set<Promise<void>>();

  constructor(
    readonly keepPixels = KEEP_PIXELS,
    readonly budgetPixels = BUDGET_PIXELS,
  ) {}

  /**
   * Records that `session` ran an image of `pixels` (the largest piece run
   * at once) and returns the sessions to recycle now: `session` itself if
   * its arena is above keepPixels, then the least recently used others
   * until the kept arenas fit budgetPixels. They start again at 0.
   */
  ran(session: Session, pixels: number): Session[] {
    const highWater = Math.max(this.#highWater.get(session) ?? 0, pixels);
    this.#highWater.delete(session);
    const recycle: Session[] = [];
    if (highWater > this.keepPixels) recycle.push(session);
    else this.#highWater.set(session, highWater);
    let kept = this.kept;
    for (const [other, pixels] of this.#highWater) {
      if (kept <= this.budgetPixels) break;
      if (pixels === 0) continue;
      recycle.push(other);
      this.#highWater.set(other, 0);
      kept -= pixels;
    }
    return recycle;
  }

  /**
   * After `session` ran an image of `pixels`: recycles what ran() returns.
   * A failed re-creation is that model's next run's error (the worker is
   * replaced then), so it is not thrown here.
   */
  afterRun(session: Session, pixels: number): void {
    for (const s of this.ran(session, pixels)) {
      const done = s.recycle().catch(() => undefined);
      this.#recycling.add(done);
      void done.then(() => this.#recycling.delete(done));
    }
  }

  /** Resolves when no recycle is under way. */
  async settled(): Promise<void> {
    while (this.#recycling.size > 0) await Promise.all([...this.#recycling]);
  }

  /** A session is gone (model unloaded). */
  forget(session: Session): void {
    this.#highWater.delete(session);
  }

  /** Pixels of the arenas kept now (their sum of high-water marks). */
  get kept(): number {
    let sum = 0;
    for (const pixels of this.#highWater.values()) sum += pixels;
    return sum;
  }
}
