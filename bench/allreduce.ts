// Allreduce benchmark: N worker processes averaging 6.7 MB (the real
// network's gradient) and 16 MB buffers over the test environment's NATS,
// against the raw one-publisher-to-one-subscriber NATS throughput with the
// same message size measured in the same run.
//
//   npx tsx bench/allreduce.ts [--quick] [--workers 2,4] [--iters 30] [--chunk-bytes N]
//
// busbw follows nccl-tests: algbw · 2(N−1)/N, the bytes each rank must move
// per allreduce; an ideal sharded allreduce on a link of bandwidth B reaches
// busbw ≈ B. Here every rank shares one NATS server (which copies each message
// once per subscriber), so the fair target is busbw ≥ 50% of B_raw / N.
// The last line is one JSON object for tooling.
import { fork, spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import { connect } from "nats";
import { Collective } from "../trainer/collectives/index.js";
import { chunkElementsFor } from "../trainer/collectives/chunking.js";
import { HEADER_BYTES } from "../trainer/collectives/header.js";
import { DEFAULT_MAX_CHUNK_BYTES } from "../trainer/collectives/options.js";
import { readTestEnv } from "../test/env/env-file.js";
import { percentile } from "./support/percentile.js";

const SIZES = [6_700_000, 16 * 1024 * 1024];
const MB = 1e6;

interface WorkerArgs {
  url: string;
  jobId: string;
  rank: number;
  worldSize: number;
  sizes: number[];
  warmup: number;
  iters: number;
  maxChunkBytes?: number;
}

type WorkerMsg =
  { type: "times"; rank: number; bytes: number; ms: number[] } | { type: "error"; message: string };

// ---------------------------------------------------------------- workers

async function runWorker(a: WorkerArgs): Promise<void> {
  const c = await Collective.join({
    nats: { url: a.url },
    jobId: a.jobId,
    attempt: 1,
    rank: a.rank,
    worldSize: a.worldSize,
    stepTimeoutMs: 120_000,
    rendezvousTimeoutMs: 60_000,
    ...(a.maxChunkBytes !== undefined ? { maxChunkBytes: a.maxChunkBytes } : {}),
  });
  let step = 0;
  for (const bytes of a.sizes) {
    const buf = new Float32Array(Math.floor(bytes / 4));
    for (let i = 0; i < buf.length; i++) buf[i] = Math.sin(i + a.rank);
    const ms: number[] = [];
    for (let it = 0; it < a.warmup + a.iters; it++) {
      // Line the ranks up so each sample is one allreduce, not the previous
      // iteration's skew.
      await c.barrier("iter");
      const t0 = performance.now();
      await c.allreduceMean(buf, step++);
      if (it >= a.warmup) ms.push(performance.now() - t0);
    }
    process.send?.({ type: "times", rank: a.rank, bytes: buf.length * 4, ms } satisfies WorkerMsg);
  }
  await c.barrier("end");
  await c.close();
}

async function runRawSubscriber(url: string, subject: string, expectBytes: number): Promise<void> {
  const nc = await connect({ servers: url });
  let first = 0;
  let got = 0;
  const done = new Promise<void>((res) => {
    nc.subscribe(subject, {
      callback: (_e, m) => {
        if (got === 0) first = performance.now();
        got += m.data.byteLength;
        if (got >= expectBytes) res();
      },
    });
  });
  await nc.flush();
  process.send?.({ type: "ready" });
  await done;
  const seconds = (performance.now() - first) / 1000;
  process.send?.({ type: "raw", bytes: got, seconds });
  await nc.close();
}

// ------------------------------------------------------------------ parent

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      srv.close(() => res(typeof addr === "object" && addr ? addr.port : 0));
    });
  });
}

/** The env's NATS, or (no env file) a private nats-server from the tools cache. */
async function natsForBench(): Promise<{ url: string; stop: () => void }> {
  try {
    return { url: readTestEnv().natsUrl, stop: () => undefined };
  } catch {
    const tools = process.env.STYLEKUBE_TOOLS_DIR ?? join(homedir(), ".cache/stylekube/tools");
    const dir = existsSync(tools) ? readdirSync(tools).find((d) => d.startsWith("nats-server-")) : undefined;
    if (!dir) throw new Error("no test environment and no built nats-server: run `npm run env:up`");
    const port = await freePort();
    const proc = spawn(join(tools, dir, "bin/nats-server"), ["-a", "127.0.0.1", "-p", String(port)], {
      stdio: "ignore",
    });
    await new Promise((r) => setTimeout(r, 500));
    console.log(`(no env file: started ${dir} on port ${port})`);
    return { url: `nats://127.0.0.1:${port}`, stop: () => proc.kill() };
  }
}

function child(args: string[]): ChildProcess {
  return fork(import.meta.filename, args, {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
}

function nextMessage<T>(p: ChildProcess, type: string): Promise<T> {
  return new Promise((res, rej) => {
    const on = (m: unknown): void => {
      const msg = m as { type: string; message?: string };
      if (msg.type === type) {
        p.off("message", on);
        res(m as T);
      } else if (msg.type === "error") rej(new Error(msg.message));
    };
    p.on("message", on);
    p.once("exit", (code) => rej(new Error(`child exited ${code} before "${type}"`)));
  });
}

async function measureRaw(url: string, messageBytes: number, totalBytes: number): Promise<number> {
  const subject = `stylekube.bench.raw.${process.pid}`;
  const count = Math.ceil(totalBytes / messageBytes);
  const sub = child(["--raw-sub", url, subject, String(count * messageBytes)]);
  await nextMessage(sub, "ready");
  const result = nextMessage<{ bytes: number; seconds: number }>(sub, "raw");
  const nc = await connect({ servers: url });
  const payload = new Uint8Array(messageBytes).fill(7);
  for (let i = 0; i < count; i++) {
    nc.publish(subject, payload);
    // Bound what the client buffers, like a real sender would, without
    // stalling the pipe: one round trip per 16 messages.
    if (i % 16 === 15) await nc.flush();
  }
  await nc.flush();
  const r = await result;
  await nc.close();
  return r.bytes / MB / r.seconds;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv[0] === "--worker") return runWorker(JSON.parse(argv[1]!) as WorkerArgs);
  if (argv[0] === "--raw-sub") return runRawSubscriber(argv[1]!, argv[2]!, Number(argv[3]));

  const quick = argv.includes("--quick");
  const opt = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const workerCounts = (opt("--workers") ?? "2,4").split(",").map(Number);
  const iters = Number(opt("--iters") ?? (quick ? 5 : 30));
  const warmup = quick ? 1 : 3;
  const chunkOpt = opt("--chunk-bytes");
  const maxChunkBytes = chunkOpt === undefined ? DEFAULT_MAX_CHUNK_BYTES : Number(chunkOpt);

  const nats = await natsForBench();
  try {
    const probe = await connect({ servers: nats.url });
    const maxPayload = probe.info?.max_payload ?? 1024 * 1024;
    await probe.close();
    const chunkBytes = HEADER_BYTES + chunkElementsFor(maxPayload, maxChunkBytes) * 4;
    console.log(
      `nats ${nats.url}, max_payload ${maxPayload} B, message ${chunkBytes} B, ${iters} iterations (+${warmup} warm-up)`,
    );

    const rawMBps = await measureRaw(nats.url, chunkBytes, quick ? 128 * MB : 512 * MB);
    console.log(`raw NATS 1 pub -> 1 sub: B_raw = ${rawMBps.toFixed(0)} MB/s`);

    const results: {
      workers: number;
      bytes: number;
      p50ms: number;
      p99ms: number;
      algbwMBps: number;
      busbwMBps: number;
    }[] = [];
    console.log("workers      bytes    p50 ms    p99 ms  algbw MB/s  busbw MB/s  target(B_raw/N/2)");
    for (const N of workerCounts) {
      const jobId = `bench-${process.pid}-${N}`;
      const procs = Array.from({ length: N }, (_, rank) =>
        child([
          "--worker",
          JSON.stringify({
            url: nats.url,
            jobId,
            rank,
            worldSize: N,
            sizes: SIZES,
            warmup,
            iters,
            maxChunkBytes,
          } satisfies WorkerArgs),
        ]),
      );
      const perRank = new Map<number, Map<number, number[]>>(); // bytes -> rank -> ms
      await Promise.all(
        procs.map(
          (p) =>
            new Promise<void>((res, rej) => {
              p.on("message", (m: WorkerMsg) => {
                if (m.type === "error") return rej(new Error(m.message));
                let byRank = perRank.get(m.bytes);
                if (!byRank) perRank.set(m.bytes, (byRank = new Map()));
                byRank.set(m.rank, m.ms);
              });
              p.once("exit", (code) => (code === 0 ? res() : rej(new Error(`worker exited ${code}`))));
            }),
        ),
      );
      for (const [bytes, byRank] of perRank) {
        // An allreduce is done when the slowest rank has its result.
        const ms = Array.from({ length: iters }, (_, i) =>
          Math.max(...[...byRank.values()].map((t) => t[i]!)),
        );
        const sorted = [...ms].sort((a, b) => a - b);
        const p50 = percentile(sorted, 50);
        const p99 = percentile(sorted, 99);
        const algbw = bytes / MB / (p50 / 1000);
        const busbw = (algbw * 2 * (N - 1)) / N;
        results.push({
          workers: N,
          bytes,
          p50ms: +p50.toFixed(2),
          p99ms: +p99.toFixed(2),
          algbwMBps: +algbw.toFixed(1),
          busbwMBps: +busbw.toFixed(1),
        });
        const target = rawMBps / N / 2;
        console.log(
          `${String(N).padStart(7)} ${String(bytes).padStart(10)} ${p50.toFixed(1).padStart(9)} ${p99.toFixed(1).padStart(9)} ${algbw.toFixed(0).padStart(11)} ${busbw.toFixed(0).padStart(11)}  ${target.toFixed(0).padStart(6)} ${busbw >= target ? "met" : "MISSED"}`,
        );
      }
    }
    console.log(JSON.stringify({ bench: "allreduce", rawMBps: +rawMBps.toFixed(1), results }));
  } finally {
    nats.stop();
  }
}

await main();
