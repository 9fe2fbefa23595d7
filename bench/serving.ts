// `npm run bench -- serving [--quick] [--engines wasm,onnxruntime]`: the
// model server under load, every engine named in one run (default
// wasm,onnxruntime), each in its own server process on the same model
// (model.json/weights.bin for tfjs, model.onnx for ONNX Runtime):
//   1. throughput and latency: a JPEG body at 256×256 and 512×512 under
//      autocannon with one connection (nothing queued: latency = service
//      time); rows {engine, size, p50Ms, p99Ms, reqPerSec, peakRssMiB,
//      serverInferenceMs};
//   2. memory: one request each at 512², 1024² and 2048² (the default
//      maxSide), in that order, and the server process's peak RSS (VmHWM)
//      and RSS now (VmRSS) after each, against a StyleServer replica's
//      default 2Gi limit; then 1024² on two more styles (bench-2, bench-3:
//      three styles that each ran 1024², which onnxruntime's per-session
//      memory arenas would each keep, serving/onnx-arena-budget.ts); then
//      2048² on a batch-norm model (style bench-bn, loaded beside the
//      others: onnxruntime runs it in bands, serving/onnx-bands.ts).
//      `--memory-sizes 512,1024` runs fewer sizes (the slow tfjs cpu engine).
// Ratios (onnxruntime / wasm req/s per size) come from the same run. Ends
// with one JSON line {"bench":"serving",...}.
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import autocannon from "autocannon";
import sharp from "sharp";
import { FileStore } from "../common/storage/index.js";
import { REPO_ROOT } from "../test/env/env-file.js";
import type { ServingEngine } from "../common/api/fields.js";
import { exportModel } from "../model/model-export.js";
import { TransformerNet } from "../model/transformer-net.js";
import { startModelServer } from "./support/model-server-process.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const ENGINES = (flag("--engines") ?? flag("--engine") ?? "wasm,onnxruntime").split(",") as ServingEngine[];
const SIZES = [256, 512];
const MEMORY_SIZES = (flag("--memory-sizes") ?? "512,1024,2048").split(",").map(Number);
const DURATION_S: Record<number, number> = quick ? { 256: 10, 512: 20 } : { 256: 30, 512: 60 };
const CONCURRENCY = 1;
const QUEUE = 4;
const LIMIT_MIB = 2048; // StyleServer.spec.resources.memory default

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** Resident memory of a process (Linux): peak so far (VmHWM) and now (VmRSS), MiB. */
function rssMiB(pid: number): { peakRssMiB: number; rssMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const mib = (field: string) =>
    round(Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN) / 1024);
  return { peakRssMiB: mib("VmHWM"), rssMiB: mib("VmRSS") };
}

async function photo(size: number): Promise<Buffer> {
  const data = Buffer.alloc(size * size * 3);
  let seed = 12345;
  for (let i = 0; i < data.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    data[i] = ((i % (size * 3)) / 3 + (seed % 64)) & 0xff;
  }
  return sharp(data, { raw: { width: size, height: size, channels: 3 } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

async function startServer(
  engine: ServingEngine,
  styles: Record<string, string>,
): Promise<{ url: string; child: ChildProcess }> {
  const { url, child } = await startModelServer({
    root: REPO_ROOT,
    env: {
      STYLEKUBE_ENGINE: engine,
      STYLEKUBE_STYLES: JSON.stringify(styles),
      STYLEKUBE_CONCURRENCY: String(CONCURRENCY),
      STYLEKUBE_QUEUE_SIZE: String(QUEUE),
      STYLEKUBE_REQUEST_TIMEOUT_MS: "600000",
    },
    stdio: ["ignore", "inherit", "inherit"],
    readyTimeoutMs: 60_000,
  });
  return { url, child };
}

/** The server's own inference time so far: sum and count of its histogram. */
async function serverInference(url: string): Promise<{ sum: number; count: number }> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const read = (name: string) =>
    Number(
      new RegExp(`^stylekube_inference_duration_seconds_${name}\\{style="bench"\\} (\\S+)$`, "m").exec(
        text,
      )?.[1] ?? 0,
    );
  return { sum: read("sum"), count: read("count") };
}

async function load(url: string, body: Buffer, connections: number, duration: number) {
  const before = await serverInference(url);
  const result = await autocannon({
    url: `${url}/v1/styles/bench:stylize`,
    method: "POST",
    headers: { "content-type": "image/jpeg", accept: "image/jpeg" },
    body,
    connections,
    duration,
    timeout: 600,
  });
  const after = await serverInference(url);
  const ok = result["2xx"];
  const inferMs =
    after.count > before.count ? ((after.sum - before.sum) / (after.count - before.count)) * 1000 : NaN;
  return {
    connections,
    requests: ok,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    reqPerSec: round(ok / result.duration, 3),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    meanMs: round(result.latency.mean),
    serverInferenceMs: round(inferMs),
  };
}

async function stylizeOnce(
  url: string,
  body: Buffer,
  style = "bench",
): Promise<{ status: number; ms: number }> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1/styles/${style}:stylize`, {
    method: "POST",
    headers: { "content-type": "image/jpeg" },
    body,
  });
  await res.arrayBuffer();
  return { status: res.status, ms: round(performance.now() - t0) };
}

interface MemoryRow {
  engine: ServingEngine;
  size: number;
  style: string;
  status: number;
  ms: number;
  peakRssMiB: number;
  rssMiB: number;
  withinLimit: boolean;
}

async function benchEngine(engine: ServingEngine, styles: Record<string, string>) {
  const { url, child } = await startServer(engine, styles);
  const rows = [];
  const memory: MemoryRow[] = [];
  try {
    const chosen = ((await (await fetch(`${url}/`)).json()) as { engine: Record<string, unknown> }).engine;
    for (const size of SIZES) {
      const body = await photo(size);
      await stylizeOnce(url, body); // warm this shape
      const r = await load(url, body, CONCURRENCY, DURATION_S[size]!);
      const row = { engine, chosen, size, ...r, peakRssMiB: rssMiB(child.pid!).peakRssMiB };
      rows.push(row);
      console.error(
        `${engine} ${size}×${size}: p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.reqPerSec} req/s (its inference ${r.serverInferenceMs} ms, ${r.requests} requests)`,
      );
    }
    const measure = async (size: number, style: string) => {
      const { status, ms } = await stylizeOnce(url, await photo(size), style);
      const rss = rssMiB(child.pid!);
      memory.push({ engine, size, style, status, ms, ...rss, withinLimit: rss.peakRssMiB < LIMIT_MIB });
      console.error(
        `${engine} ${size}×${size} on ${style}: HTTP ${status} in ${ms} ms; server peak RSS ${rss.peakRssMiB} MiB, now ${rss.rssMiB} MiB`,
      );
    };
    for (const size of MEMORY_SIZES) await measure(size, "bench");
    if (MEMORY_SIZES.includes(1024)) for (const style of ["bench-2", "bench-3"]) await measure(1024, style);
    if (MEMORY_SIZES.includes(2048)) await measure(2048, "bench-bn");
  } finally {
    child.kill("SIGTERM");
  }
  return { rows, memory };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "stylekube-bench-serving-"));
  const store = new FileStore({ durable: false });
  const modelURI = await exportModel(
    store,
    `${pathToFileURL(dir).href}/bench/`,
    new TransformerNet({ seed: 1 }),
    {
      trainedSteps: 0,
      style: "bench",
      imageSize: 256,
    },
  );
  const batchNormURI = await exportModel(
    store,
    `${pathToFileURL(dir).href}/bench-bn/`,
    new TransformerNet({ seed: 2, normalization: "batch" }),
    { trainedSteps: 0, style: "bench-bn", imageSize: 256 },
  );
  const more = await Promise.all(
    [3, 4].map((seed, i) =>
      exportModel(store, `${pathToFileURL(dir).href}/bench-${i + 2}/`, new TransformerNet({ seed }), {
        trainedSteps: 0,
        style: `bench-${i + 2}`,
        imageSize: 256,
      }),
    ),
  );
  const styles = { bench: modelURI, "bench-2": more[0]!, "bench-3": more[1]!, "bench-bn": batchNormURI };
  const loadBefore = loadavg();
  const rows: Awaited<ReturnType<typeof benchEngine>>["rows"] = [];
  const memory: Awaited<ReturnType<typeof benchEngine>>["memory"] = [];
  try {
    for (const engine of ENGINES) {
      const r = await benchEngine(engine, styles);
      rows.push(...r.rows);
      memory.push(...r.memory);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const rate = (engine: string, size: number) =>
    rows.find((r) => r.engine === engine && r.size === size)?.reqPerSec;
  const speedup = Object.fromEntries(
    SIZES.map((size) => {
      const ort = rate("onnxruntime", size);
      const wasm = rate("wasm", size);
      return [size, ort !== undefined && wasm ? round(ort / wasm, 2) : null];
    }),
  );
  console.error(`onnxruntime / wasm req/s: ${JSON.stringify(speedup)}`);
  console.log(
    JSON.stringify({
      bench: "serving",
      quick,
      engines: ENGINES,
      concurrency: CONCURRENCY,
      rows: rows.map(
        ({ engine, size, p50Ms, p99Ms, reqPerSec, peakRssMiB, serverInferenceMs, requests, chosen }) => ({
          engine,
          size,
          p50Ms,
          p99Ms,
          reqPerSec,
          peakRssMiB,
          serverInferenceMs,
          requests,
          chosen,
        }),
      ),
      memory,
      memoryLimitMiB: LIMIT_MIB,
      loadAverage: { before: loadBefore.map((v) => round(v, 2)), after: loadavg().map((v) => round(v, 2)) },
      onnxruntimeOverWasm: speedup,
      target: { onnxruntimeOverWasm: 5 },
    }),
  );
}

await main();
