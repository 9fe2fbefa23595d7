// The quality bench's verdict for one style: per iteration count N, the mean
// over the photos of the network's loss divided by Gatys et al.'s after N
// iterations — for the total and for the content and style terms
// separately — and the largest N the network matches.
//
// Why both terms: a network can beat Gatys on the total by painting over the
// photo (a style term far below Gatys's, a content term far above). That is
// not what the paper claims, so matching N needs the total AND the content
// term at or below Gatys-N's (matchesIterations).
import type { LossValues } from "../../trainer/losses/perceptual-loss.js";

export interface GatysPoint {
  iterations: number;
  loss: LossValues;
  /** Wall time of the optimisation up to this count (from the run that produced it, maybe cached). */
  seconds: number;
}

export interface PhotoScores {
  photo: string;
  network: LossValues;
  /** Wall time of the network's forward pass on this photo. */
  networkSeconds: number;
  gatys: readonly GatysPoint[];
}

/** Network / Gatys for one term; 1 when both are 0 (equal), Infinity when only Gatys's is 0. */
export function ratio(network: number, gatys: number): number {
  if (gatys === 0) return network === 0 ? 1 : Infinity;
  return network / gatys;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

export interface CountSummary {
  iterations: number;
  /** Means over the photos of network / Gatys-N, per term. */
  ratio: { total: number; content: number; style: number };
  /** Gatys-N's mean loss (as LossValues: total λ-weighted, terms unweighted). */
  gatys: LossValues;
  /** Mean wall time of Gatys to N iterations. */
  seconds: number;
}

function meanLoss(values: readonly LossValues[]): LossValues {
  return {
    total: mean(values.map((v) => v.total)),
    content: mean(values.map((v) => v.content)),
    style: mean(values.map((v) => v.style)),
    tv: mean(values.map((v) => v.tv)),
  };
}

/** The summary at each count; every photo must have a point at every count. */
export function summarize(photos: readonly PhotoScores[], counts: readonly number[]): CountSummary[] {
  if (photos.length === 0) throw new Error("no photos to summarise");
  return counts.map((iterations) => {
    const points = photos.map((p) => {
      const point = p.gatys.find((g) => g.iterations === iterations);
      if (point === undefined) throw new Error(`${p.photo} has no Gatys loss at ${iterations} iterations`);
      return { network: p.network, point };
    });
    const meanRatio = (term: "total" | "content" | "style"): number =>
      mean(points.map(({ network, point }) => ratio(network[term], point.loss[term])));
    return {
      iterations,
      ratio: { total: meanRatio("total"), content: meanRatio("content"), style: meanRatio("style") },
      gatys: meanLoss(points.map(({ point }) => point.loss)),
      seconds: mean(points.map(({ point }) => point.seconds)),
    };
  });
}

/** The mean of the network's loss terms over the photos. */
export function networkMean(photos: readonly PhotoScores[]): LossValues {
  return meanLoss(photos.map((p) => p.network));
}

/** Whether the network matches Gatys-N: mean total ratio ≤ 1 and mean content ratio ≤ 1. */
export const matches = (s: CountSummary): boolean => s.ratio.total <= 1 && s.ratio.content <= 1;

/** The largest N the network matches (total and content, see `matches`); null when none. */
export function matchesIterations(summaries: readonly CountSummary[]): number | null {
  return largest(summaries.filter(matches));
}

/** The paper's looser reading, for comparison: the largest N with the mean total ratio ≤ 1. */
export function matchesIterationsOnTotal(summaries: readonly CountSummary[]): number | null {
  return largest(summaries.filter((s) => s.ratio.total <= 1));
}

function largest(summaries: readonly CountSummary[]): number | null {
  return summaries.length === 0 ? null : Math.max(...summaries.map((s) => s.iterations));
}
