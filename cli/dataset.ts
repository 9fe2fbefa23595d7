// `stylekube dataset …`: pack photos into a sharded dataset, show or verify one.
//
//   stylekube dataset pack <folder|zip> <uri> [--size 256] [--shard-size 1000] [--quality 90]
//                                             [--concurrency N] [--force] [--no-progress]
//   stylekube dataset info <uri>
//   stylekube dataset verify <uri>
//
// <uri> is s3://bucket/prefix/ or file:///abs/path/ (a plain local path works
// too). S3 settings come from STYLEKUBE_S3_* (see common/storage/index.ts).
import { createLogger } from "../common/log/logger.js";
import { isNotFound, normalizeUri, openStore, type ObjectStore } from "../common/storage/index.js";
import { readDatasetIndex } from "../trainer/data/format.js";
import { packDataset, type PackProgress } from "../trainer/data/pack.js";

/** Renders pack progress on stderr: a redrawn bar on a terminal, a plain line every few seconds otherwise (CI logs). */
export class ProgressRenderer {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  readonly #intervalMs: number;
  readonly #started = performance.now();
  #last = Number.NEGATIVE_INFINITY; // so the first update always prints
  #lastLine = "";
  #filesAtStart: number | undefined;

  constructor(out: NodeJS.WriteStream = process.stderr, opts: { tty?: boolean; intervalMs?: number } = {}) {
    this.#out = out;
    this.#tty = opts.tty ?? out.isTTY === true;
    this.#intervalMs = opts.intervalMs ?? (this.#tty ? 100 : 10_000);
  }

  update(p: PackProgress): void {
    // Files finished by an earlier run are not this run's speed.
    this.#filesAtStart ??= p.filesDone;
    const now = performance.now();
    const final = p.phase === "done";
    if (!final && now - this.#last < this.#intervalMs) return;
    this.#last = now;
    const line = formatProgress(p, (now - this.#started) / 1000, p.filesDone - this.#filesAtStart);
    if (this.#tty) {
      const width = Math.max(20, (this.#out.columns ?? 100) - 1);
      this.#out.write(`\r${line.slice(0, width).padEnd(Math.min(width, this.#lastLine.length))}`);
      if (final) this.#out.write("\n");
    } else if (line !== this.#lastLine || final) {
      this.#out.write(`${line}\n`);
    }
    this.#lastLine = line;
  }

  /** End the bar's line (e.g. before printing an error). */
  finish(): void {
    if (this.#tty && this.#lastLine !== "") this.#out.write("\n");
    this.#lastLine = "";
  }
}

export function formatProgress(p: PackProgress, seconds: number, filesThisRun: number): string {
  const frac = p.filesTotal === 0 ? 1 : p.filesDone / p.filesTotal;
  const barWidth = 24;
  const filled = Math.round(frac * barWidth);
  const rate = seconds > 0 ? filesThisRun / seconds : 0;
  const left = p.filesTotal - p.filesDone;
  const eta = rate > 0 ? formatDuration(left / rate) : "?";
  const phase = p.phase === "writing-index" ? " · writing index" : p.phase === "done" ? " · done" : "";
  return (
    `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${(frac * 100).toFixed(1).padStart(5)}% ` +
    `${p.filesDone}/${p.filesTotal} files · ${rate.toFixed(0)} img/s · ETA ${eta} · ` +
    `shards ${p.shardsDone}/${p.shardsTotal}${p.shardsResumed > 0 ? ` (${p.shardsResumed} resumed)` : ""} · ` +
    `skipped ${p.skipped} · ${(p.bytesWritten / 1e6).toFixed(1)} MB${phase}`
  );
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h > 0
    ? `${h}h${String(m).padStart(2, "0")}m`
    : m > 0
      ? `${m}m${String(sec).padStart(2, "0")}s`
      : `${sec}s`;
}

export interface PackOptions {
  size?: number;
  shardSize?: number;
  quality?: number;
  concurrency?: number;
  force: boolean;
  progress: boolean;
}

export async function withStore(run: (store: ObjectStore) => Promise<number>): Promise<number> {
  const store = openStore();
  try {
    return await run(store);
  } catch (e) {
    console.error(`stylekube dataset: ${(e as Error).message}`);
    return 1;
  } finally {
    await store.close();
  }
}

export async function pack(
  input: string,
  target: string,
  options: PackOptions,
  store: ObjectStore,
): Promise<number> {
  const prefix = normalizeUri(target.endsWith("/") ? target : `${target}/`, { allowPlainPaths: true });
  const renderer = options.progress ? new ProgressRenderer() : undefined;
  const controller = new AbortController();
  // First Ctrl-C: stop cleanly (finished shards stay, and a rerun resumes); second: exit now.
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort(new Error("interrupted"));
  };
  process.on("SIGINT", onSigint);
  try {
    const result = await packDataset(store, input, prefix, {
      ...(options.size !== undefined ? { size: options.size } : {}),
      ...(options.shardSize !== undefined ? { shardSize: options.shardSize } : {}),
      ...(options.quality !== undefined ? { jpegQuality: options.quality } : {}),
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      force: options.force,
      signal: controller.signal,
      logger: createLogger("dataset-pack", process.env.STYLEKUBE_LOG_LEVEL ?? "warn"),
      ...(renderer ? { onProgress: (p: PackProgress) => renderer.update(p) } : {}),
    });
    renderer?.finish();
    const idx = result.index;
    if (result.alreadyComplete)
      console.error(`${prefix} is already packed from this input (use --force to rebuild).`);
    console.error(
      `${idx.samples} samples (${idx.imageSize}×${idx.imageSize}) in ${idx.shards.length} shards at ${prefix}; ` +
        `${result.shardsWritten} shard(s) written, ${result.shardsResumed} kept; ${result.seconds.toFixed(1)} s`,
    );
    if (idx.skipped.length > 0) {
      console.error(`skipped ${idx.skipped.length} file(s) (all listed in index.json):`);
      for (const s of idx.skipped.slice(0, 20)) console.error(`  ${s.file}: ${s.reason}`);
      if (idx.skipped.length > 20) console.error(`  … and ${idx.skipped.length - 20} more`);
    }
    console.log(result.indexUri);
    return 0;
  } catch (e) {
    renderer?.finish();
    if (controller.signal.aborted) {
      console.error("interrupted: finished shards are kept; run the same command again to resume.");
      return 130;
    }
    throw e;
  } finally {
    process.off("SIGINT", onSigint);
  }
}

export async function info(target: string, store: ObjectStore, verify: boolean): Promise<number> {
  const prefix = normalizeUri(target, { allowPlainPaths: true });
  try {
    const idx = await readDatasetIndex(store, prefix, { verify: verify ? "sha256" : "none" });
    const bytes = idx.shards.reduce((n, s) => n + s.size, 0);
    console.log(
      `${prefix}: ${idx.samples} samples, ${idx.imageSize}×${idx.imageSize} JPEG, ${idx.shards.length} shards, ` +
        `${(bytes / 1e6).toFixed(1)} MB, ${idx.skipped.length} input file(s) skipped, packed ${idx.record.createdAt}`,
    );
    if (verify) console.log(`all ${idx.shards.length} shards match their sha256`);
    return 0;
  } catch (e) {
    if (isNotFound(e)) {
      console.error(`${prefix}: no index.json — not a dataset, or packing has not finished`);
      return 1;
    }
    throw e;
  }
}
