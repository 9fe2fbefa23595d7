/**
 * The nearest-rank p-th percentile (0 < p ≤ 100) of some timings: the
 * smallest value with at least p % of the values at or below it; NaN for
 * none. Used by every benchmark that reports p50/p99.
 */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}
