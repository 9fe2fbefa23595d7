// The quality bench's command line, checked before anything slow starts;
// each error names the flag and what it accepts.
import { availableParallelism } from "node:os";
import { parseArgs } from "node:util";
import { ENGINES, type Engine } from "../../common/api/index.js";
import { lossFlags, type LossFlagValues } from "../../cli/loss-flags.js";
import type { GatysMethod } from "../../trainer/gatys/optimize-image.js";
import { checkBenchSize } from "./photo-size.js";

export const USAGE = `npm run bench -- quality --model <dir|URI> --style <painting> --photos <dir>
  [--size 256] [--limit N] [--all-photos] [--iterations 50,100,200,500] [--method lbfgs|adam]
  [--engine onnxruntime] [--threads N] [--baselines FILE] [--fresh] [--quick]
  [--style-size N] [--vgg-weights PATH] [--content-weight X] [--style-weight X] [--tv-weight X]`;

/** The paper's sizes: 256 px on the longer side (its Fig. 5), 512 with --size 512. */
export const DEFAULT_SIZE = 256;
export const DEFAULT_ITERATIONS = "50,100,200,500";

export interface QualityOptions {
  model: string;
  photos: string;
  size: number;
  limit: number | undefined;
  allPhotos: boolean;
  /** Ascending, distinct. */
  iterations: number[];
  method: GatysMethod;
  engine: Engine;
  threads: number;
  /** The baselines file; undefined: the default under the cache folder. */
  baselines: string | undefined;
  /** Recompute Gatys even where the baselines file answers (and overwrite). */
  fresh: boolean;
  quick: boolean;
  loss: LossFlagValues;
}

function wholeNumber(flag: string, value: string, min: number): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isInteger(n) || n < min)
    throw new Error(`--${flag} must be a whole number ≥ ${min}, got ${JSON.stringify(value)}`);
  return n;
}

/** "50,100,200,500" → [50, 100, 200, 500]: whole numbers ≥ 1, sorted, duplicates dropped. */
export function parseIterations(value: string): number[] {
  const counts = value.split(",").map((s) => s.trim());
  if (counts.some((s) => s === "" || !Number.isInteger(Number(s)) || Number(s) < 1))
    throw new Error(`--iterations must be whole numbers ≥ 1 separated by commas (e.g. 50,100), got ${value}`);
  return [...new Set(counts.map(Number))].sort((a, b) => a - b);
}

export function parseQualityArgs(args: readonly string[]): QualityOptions {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      model: { type: "string" },
      photos: { type: "string" },
      size: { type: "string" },
      limit: { type: "string" },
      "all-photos": { type: "boolean", default: false },
      iterations: { type: "string" },
      method: { type: "string", default: "lbfgs" },
      engine: { type: "string", default: "onnxruntime" },
      threads: { type: "string" },
      baselines: { type: "string" },
      fresh: { type: "boolean", default: false },
      quick: { type: "boolean", default: false },
      ...lossFlags.options,
    },
  });
  if (values.model === undefined)
    throw new Error("--model <model dir or URI> is required (a trained model/ folder)");
  if (values.photos === undefined)
    throw new Error(
      "--photos <dir> is required (held-out photos, never trained on, e.g. ../shared/photos/held-out)",
    );
  if (values.style === undefined) throw new Error("--style <painting> is required (the model's style image)");
  if (values.method !== "lbfgs" && values.method !== "adam")
    throw new Error(`--method must be lbfgs or adam, got ${values.method}`);
  if (!(ENGINES as readonly string[]).includes(values.engine))
    throw new Error(`--engine must be one of ${ENGINES.join(", ")}, got ${values.engine}`);
  if (
    values.quick &&
    (values.size !== undefined || values.iterations !== undefined || values.limit !== undefined)
  )
    throw new Error("--quick sets --size, --iterations and --limit itself: leave those out");
  const size = values.quick
    ? 64
    : values.size === undefined
      ? DEFAULT_SIZE
      : wholeNumber("size", values.size, 1);
  checkBenchSize(size);
  return {
    model: values.model,
    photos: values.photos,
    size,
    limit: values.quick ? 1 : values.limit === undefined ? undefined : wholeNumber("limit", values.limit, 1),
    allPhotos: values["all-photos"],
    iterations: parseIterations(values.quick ? "10,20" : (values.iterations ?? DEFAULT_ITERATIONS)),
    method: values.method,
    engine: values.engine as Engine,
    threads:
      values.threads === undefined ? availableParallelism() : wholeNumber("threads", values.threads, 1),
    baselines: values.baselines,
    fresh: values.fresh,
    quick: values.quick,
    loss: values,
  };
}
