// Option value parsers shared by the commands: each names the flag and what it
// accepts, so a bad value is a usage error (exit 2) that says how to fix it.
import { InvalidArgumentError } from "commander";

/** A whole number in [min, max]. */
export function wholeNumber(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value) => {
    if (!/^\d+$/.test(value))
      throw new InvalidArgumentError(`expected a whole number, got ${JSON.stringify(value)}.`);
    const n = Number(value);
    if (n < min || n > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `must be at least ${min}, got ${n}.`
          : `must be from ${min} to ${max}, got ${n}.`,
      );
    return n;
  };
}
