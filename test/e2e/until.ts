// The e2e's bounded wait: polls until a probe returns a value, and when time
// runs out says what it waited for, the probe's last error and — from
// `explain`, asked once at that moment — why it did not happen (pod phases,
// scheduling, container states and events: test/support/pod-diagnosis.ts).
import { setTimeout as sleep } from "node:timers/promises";
import { explanation, type Explain } from "../support/timeout-explanation.js";

export { explanation };

export interface UntilOptions {
  /** Why the wait has not ended, asked once when it times out. */
  explain?: Explain;
  /** Between probes; default 2 s. */
  intervalMs?: number;
}

export async function until<T>(
  what: string,
  timeoutMs: number,
  probe: () => Promise<T | undefined>,
  options: UntilOptions = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(options.intervalMs ?? 2000);
  }
  const lastError = last ? ` (last error: ${String(last)})` : "";
  throw new Error(
    `timed out after ${timeoutMs / 1000} s waiting for ${what}${lastError}${await explanation(options.explain)}`,
  );
}
