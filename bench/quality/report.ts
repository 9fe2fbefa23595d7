// What the quality bench prints: the loss terms per photo, the per-style
// means and ratios, the verdict, and the JSON line (the bench convention).
import type { LossValues, LossWeights } from "../../trainer/losses/perceptual-loss.js";
import { type CountSummary, matches, type PhotoScores } from "./summary.js";

/** The terms as they add up to the total: λc·content, λs·style, λTV·tv. */
export function weightedTerms(loss: LossValues, weights: LossWeights): LossValues {
  return {
    total: loss.total,
    content: weights.content * loss.content,
    style: weights.style * loss.style,
    tv: weights.tv * loss.tv,
  };
}

const e = (x: number): string => x.toExponential(3).padStart(10);
const f = (x: number, digits = 2): string => (Number.isFinite(x) ? x.toFixed(digits) : String(x)).padStart(7);

function lossRow(label: string, loss: LossValues, weights: LossWeights, seconds: number): string {
  const w = weightedTerms(loss, weights);
  return `  ${label.padEnd(10)} ${e(w.total)} ${e(w.content)} ${e(w.style)} ${e(w.tv)} ${seconds.toFixed(seconds < 10 ? 3 : 1).padStart(9)}`;
}

export function printPhoto(
  scores: PhotoScores,
  size: { width: number; height: number },
  weights: LossWeights,
  cached: boolean,
): void {
  console.log(
    `\n${scores.photo} (${size.width}×${size.height}; Gatys ${cached ? "from the baselines file" : "run now"})`,
  );
  console.log(
    `  ${"".padEnd(10)} ${"total".padStart(10)} ${"λc·content".padStart(10)} ${"λs·style".padStart(10)} ${"λTV·tv".padStart(10)} ${"seconds".padStart(9)}`,
  );
  console.log(lossRow("network", scores.network, weights, scores.networkSeconds));
  for (const g of scores.gatys) console.log(lossRow(`Gatys ${g.iterations}`, g.loss, weights, g.seconds));
}

export function printSummary(
  network: LossValues,
  networkSeconds: number,
  summaries: readonly CountSummary[],
  weights: LossWeights,
  photos: number,
): void {
  console.log(
    `\nmean over ${photos} photo(s) (λ-weighted terms; ratios are means of per-photo network / Gatys-N):`,
  );
  console.log(
    `  ${"".padEnd(10)} ${"total".padStart(10)} ${"λc·content".padStart(10)} ${"λs·style".padStart(10)} ${"λTV·tv".padStart(10)} ${"seconds".padStart(9)}` +
      `   ${"net/G total".padStart(11)} ${"content".padStart(7)} ${"style".padStart(7)}  matches`,
  );
  console.log(lossRow("network", network, weights, networkSeconds));
  for (const s of summaries)
    console.log(
      `${lossRow(`Gatys ${s.iterations}`, s.gatys, weights, s.seconds)}   ${f(s.ratio.total).padStart(11)} ${f(s.ratio.content)} ${f(s.ratio.style)}  ${matches(s) ? "yes" : "no"}`,
    );
}

/** One sentence: the largest count matched, and why the next one is not. */
export function verdict(
  summaries: readonly CountSummary[],
  matched: number | null,
  onTotal: number | null,
): string {
  const first = summaries[0]!;
  if (matched === null) {
    const why =
      first.ratio.total > 1
        ? `its total is ${first.ratio.total.toFixed(2)}× Gatys's`
        : `its total is lower (${first.ratio.total.toFixed(2)}×) but its content term is ${first.ratio.content.toFixed(2)}× Gatys's (a lower total bought with the photo's content)`;
    return `the network does not match Gatys et al. after ${first.iterations} iterations: ${why} (the paper: its networks match 50–100)`;
  }
  const total = onTotal !== null && onTotal > matched ? `; on the total alone it would match ${onTotal}` : "";
  return `the network matches Gatys et al. after ${matched} iterations (total and content term at or below)${total} (the paper: 50–100)`;
}
