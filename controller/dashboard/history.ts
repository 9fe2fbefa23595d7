// What the dashboard remembers about each training beyond its status: the
// loss curve (a bounded series of points, one per reported step, averaged
// over ranks) and the preview images rank 0 wrote at checkpoints. Kept in the
// operator's memory so a page reload shows the whole curve; bounded so a
// 40 000-step job, or hundreds of them, cannot grow the operator without end.
import type { ProgressMessage } from "../../common/progress.js";

export interface LossPoint {
  step: number;
  total: number;
  content: number;
  style: number;
  tv: number;
  /** Milliseconds since the epoch of the newest message folded in. */
  time: number;
}

interface Series {
  attempt: number;
  points: LossPoint[];
  /** Per-rank losses of the newest few steps, so each point is the mean over ranks. */
  open: Map<number, Map<number, ProgressMessage["loss"]>>;
}

/** Steps still open for more ranks' messages; ranks report in lockstep, so a few suffice. */
const OPEN_STEPS = 8;

export class LossHistory {
  private readonly series = new Map<string, Series>();

  constructor(private readonly maxPoints: number) {}

  /** Fold one progress message in; returns the point it created or changed, if any. */
  add(key: string, msg: ProgressMessage): LossPoint | undefined {
    let s = this.series.get(key);
    if (!s) {
      s = { attempt: msg.attempt, points: [], open: new Map() };
      this.series.set(key, s);
    }
    if (msg.attempt < s.attempt) return undefined;
    const time = Date.parse(msg.time);
    const last = s.points.at(-1);
    if (msg.attempt > s.attempt) {
      // A restarted attempt resumes from its checkpoint: steps after it are
      // redone, so the old tail is dropped and the curve continues from there.
      s.attempt = msg.attempt;
      s.open.clear();
      while (s.points.length > 0 && s.points.at(-1)!.step >= msg.step) s.points.pop();
    } else if (last && msg.step < last.step && !s.open.has(msg.step)) {
      return undefined; // a late message for a step already closed
    }
    let ranks = s.open.get(msg.step);
    if (!ranks) {
      ranks = new Map();
      s.open.set(msg.step, ranks);
      for (const step of s.open.keys()) if (s.open.size > OPEN_STEPS) s.open.delete(step);
    }
    ranks.set(msg.rank, msg.loss);
    const n = ranks.size;
    const mean = (f: (l: ProgressMessage["loss"]) => number) => {
      let sum = 0;
      for (const l of ranks.values()) sum += f(l);
      return sum / n;
    };
    const point: LossPoint = {
      step: msg.step,
      total: mean((l) => l.total),
      content: mean((l) => l.content),
      style: mean((l) => l.style),
      tv: mean((l) => l.tv),
      time,
    };
    const at = this.indexOf(s.points, msg.step);
    if (at >= 0) s.points[at] = point;
    else {
      s.points.push(point);
      if (s.points.length > this.maxPoints) this.thin(s.points);
    }
    return point;
  }

  points(key: string): readonly LossPoint[] {
    return this.series.get(key)?.points ?? [];
  }

  forget(key: string): void {
    this.series.delete(key);
  }

  /** Search from the end: the step is almost always one of the newest. */
  private indexOf(points: LossPoint[], step: number): number {
    for (let i = points.length - 1; i >= 0 && i >= points.length - OPEN_STEPS * 2; i--) {
      if (points[i]!.step === step) return i;
      if (points[i]!.step < step) return -1;
    }
    return -1;
  }

  /**
   * Halve the resolution of the older points and keep the newest at full
   * resolution: the curve keeps its shape from step 0 and the live end stays
   * exact.
   */
  private thin(points: LossPoint[]): void {
    const keepTail = Math.max(OPEN_STEPS * 2, Math.floor(this.maxPoints / 4));
    const head = points.length - keepTail;
    const kept: LossPoint[] = [];
    for (let i = 0; i < head; i++) if (i % 2 === 0) kept.push(points[i]!);
    points.splice(0, head, ...kept);
  }
}

export interface Preview {
  step: number;
  /** Held-out photos stylised at this step (names of common/storage/training-layout.ts), in the spec's order. */
  photos: string[];
}

/** Which held-out photos were stylised at which checkpoint, by training (newest `max` steps kept). */
export class PreviewIndex {
  private readonly byKey = new Map<string, Map<number, Set<string>>>();

  constructor(private readonly max: number) {}

  /** Records photos of a step (merged with any already known); returns true when something is new. */
  add(key: string, step: number, photos: readonly string[]): boolean {
    let m = this.byKey.get(key);
    if (!m) this.byKey.set(key, (m = new Map()));
    let known = m.get(step);
    if (!known) m.set(step, (known = new Set()));
    const before = known.size;
    for (const p of photos) known.add(p);
    if (m.size > this.max) m.delete(Math.min(...m.keys()));
    return known.size > before;
  }

  list(key: string): Preview[] {
    const m = this.byKey.get(key);
    if (!m) return [];
    return [...m.entries()]
      .filter(([, photos]) => photos.size > 0)
      .map(([step, photos]) => ({ step, photos: [...photos].sort() }))
      .sort((a, b) => a.step - b.step);
  }

  /** Whether `photo` was stylised at `step`; without a step, whether it was at any. */
  has(key: string, photo: string, step?: number): boolean {
    const m = this.byKey.get(key);
    if (!m) return false;
    if (step !== undefined) return m.get(step)?.has(photo) ?? false;
    return [...m.values()].some((photos) => photos.has(photo));
  }

  forget(key: string): void {
    this.byKey.delete(key);
  }
}
