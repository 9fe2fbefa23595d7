// `npm run bench -- serving-slow-uploads [--seconds 45] [--slow-clients 6] [--server-root DIR]`:
// slow clients against the model server. Six clients each open a connection,
// declare a 1 MiB image and upload it at 2 KiB/s (reconnecting whenever the
// server cuts them off), while one normal client sends a 64×64 JPEG every
// 200 ms. Prints the normal client's status codes and latencies, what
// happened to the slow clients' connections, and one JSON line
// {"bench":"serving-slow-uploads",...}.
// --server-root runs the server of another checkout (e.g. a worktree of an
// older commit, for a before/after comparison) with the same client.
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { FileStore } from "../common/storage/index.js";
import { exportModel } from "../model/model-export.js";
import { TransformerNet } from "../model/transformer-net.js";
import { REPO_ROOT } from "../test/env/env-file.js";
import { slowRequest, stylizeHead } from "../test/integration/serving/slow-client.js";
import { testImage } from "../test/integration/serving/support.js";
import { startModelServer } from "./support/model-server-process.js";
import { percentile } from "./support/percentile.js";

const argv = process.argv.slice(2);
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const SECONDS = Number(flag("--seconds") ?? 45);
const SERVER_ROOT = flag("--server-root") ?? REPO_ROOT;
const SLOW_CLIENTS = Number(flag("--slow-clients") ?? 6);
const SLOW_BYTES_PER_SECOND = 2048;
const SLOW_DECLARED_BYTES = 1024 * 1024;
const NORMAL_PAUSE_MS = 200;

const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

function startServer(modelURI: string): ReturnType<typeof startModelServer> {
  return startModelServer({
    root: SERVER_ROOT,
    env: {
      STYLEKUBE_ENGINE: "wasm",
      STYLEKUBE_STYLES: JSON.stringify({ bench: modelURI }),
      // Every other setting at its default: 1 inference at a time, 4 queued.
    },
    // Its log lines go to stderr, so stdout holds only this benchmark's JSON line.
    stdio: ["ignore", 2, 2],
    readyTimeoutMs: 120_000,
  });
}

interface SlowConnection {
  /** The status code the server answered with, "closed" (closed without an answer) or "open" (still open at the end). */
  outcome: string;
  heldS: number;
}

/** One upload at SLOW_BYTES_PER_SECOND until the server answers or closes, or `until`. */
async function slowUpload(port: number, until: number): Promise<SlowConnection> {
  const r = await slowRequest({
    port,
    head: stylizeHead("bench", SLOW_DECLARED_BYTES),
    bytesPerSecond: SLOW_BYTES_PER_SECOND,
    bodyBytes: SLOW_DECLARED_BYTES,
    giveUpAfterMs: Math.max(0, until - Date.now()),
  });
  return { outcome: r.stillOpen ? "open" : String(r.status ?? "closed"), heldS: round(r.heldMs / 1000) };
}

async function slowClient(port: number, until: number): Promise<SlowConnection[]> {
  const connections: SlowConnection[] = [];
  while (Date.now() < until) connections.push(await slowUpload(port, until));
  return connections;
}

async function normalClient(url: string, body: Buffer, until: number) {
  const results: { status: number; ms: number }[] = [];
  while (Date.now() < until) {
    const t0 = performance.now();
    const status = await fetch(`${url}/v1/styles/bench:stylize`, {
      method: "POST",
      headers: { "content-type": "image/jpeg" },
      body,
    }).then(
      async (r) => (await r.arrayBuffer(), r.status),
      () => 0,
    );
    results.push({ status, ms: performance.now() - t0 });
    await sleep(NORMAL_PAUSE_MS);
  }
  return results;
}

function countBy<T>(items: readonly T[], key: (t: T) => string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const item of items) counts[key(item)] = (counts[key(item)] ?? 0) + 1;
  return counts;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "stylekube-bench-slow-"));
  const modelURI = await exportModel(
    new FileStore({ durable: false }),
    `${pathToFileURL(dir).href}/bench/`,
    new TransformerNet({ seed: 1 }),
    { trainedSteps: 0, style: "bench", imageSize: 256 },
    { onnx: false },
  );
  const { url, port, child } = await startServer(modelURI);
  const loadBefore = loadavg();
  try {
    const body = await testImage(64, 64);
    const until = Date.now() + SECONDS * 1000;
    const slow = Array.from({ length: SLOW_CLIENTS }, () => slowClient(port, until));
    await sleep(2000); // the slow clients are connected and uploading
    const normal = await normalClient(url, body, until);
    const connections = (await Promise.all(slow)).flat();
    const ok = normal.filter((r) => r.status === 200).map((r) => r.ms);
    const summary = {
      bench: "serving-slow-uploads",
      serverRoot: SERVER_ROOT,
      seconds: SECONDS,
      slowClients: SLOW_CLIENTS,
      slowBytesPerSecond: SLOW_BYTES_PER_SECOND,
      normal: {
        requests: normal.length,
        statuses: countBy(normal, (r) => String(r.status)),
        okP50Ms: round(percentile(ok, 50)),
        okP99Ms: round(percentile(ok, 99)),
        allP50Ms: round(
          percentile(
            normal.map((r) => r.ms),
            50,
          ),
        ),
      },
      slow: {
        connections: connections.length,
        outcomes: countBy(connections, (c) => c.outcome),
        heldP50S: round(
          percentile(
            connections.filter((c) => c.outcome !== "open").map((c) => c.heldS),
            50,
          ),
        ),
        maxHeldS: round(Math.max(...connections.map((c) => c.heldS))),
      },
      loadAverage: { before: loadBefore.map((v) => round(v, 2)), after: loadavg().map((v) => round(v, 2)) },
    };
    console.error(
      `normal client: ${normal.length} requests, statuses ${JSON.stringify(summary.normal.statuses)}, 200s p50 ${summary.normal.okP50Ms} ms p99 ${summary.normal.okP99Ms} ms`,
    );
    console.error(
      `slow clients: ${connections.length} connections, outcomes ${JSON.stringify(summary.slow.outcomes)}, held p50 ${summary.slow.heldP50S} s, longest ${summary.slow.maxHeldS} s`,
    );
    console.log(JSON.stringify(summary));
  } finally {
    child.kill("SIGTERM");
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
