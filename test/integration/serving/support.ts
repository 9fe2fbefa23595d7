// Shared by the model-server tests: models made by the real trainer code,
// the server started as its own process on a free port, images and HTTP.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { createServer } from "node:net";
import { crc32, createDeflate } from "node:zlib";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { REPO_ROOT } from "../../env/env-file.js";
import type { ObjectStore } from "../../../common/storage/index.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { exportModel } from "../../../model/model-export.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import { computeStyleTargets, disposeStyleTargets } from "../../../trainer/losses/index.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { createOptimizer, trainStep } from "../../../trainer/train-step.js";

let engineReady: Promise<unknown> | undefined;

/**
 * A TransformerNet trained for `steps` Adam steps on 32×32 random content
 * against a random VGG-16 (cheap, and the weights really come out of the
 * trainer's step), exported with the trainer's exportModel. Returns the
 * model URI the server loads.
 */
export async function trainAndExport(
  store: ObjectStore,
  output: string,
  options: { seed: number; style: string; steps?: number; normalization?: "instance" | "batch" },
): Promise<string> {
  engineReady ??= initEngine("cpu");
  await engineReady;
  const net = new TransformerNet({ seed: options.seed, normalization: options.normalization ?? "instance" });
  const steps = options.steps ?? 0;
  if (steps > 0) {
    const vgg = await loadVgg16({ random: true, seed: options.seed });
    const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2"] } as const;
    const style = tf.randomUniform([1, 32, 32, 3], 0, 255, "float32", options.seed) as tf.Tensor4D;
    const styleTargets = computeStyleTargets(vgg, style, layers.style);
    const content = tf.randomUniform([1, 32, 32, 3], 0, 255, "float32", options.seed + 1) as tf.Tensor4D;
    const optimizer = createOptimizer();
    const setup = { net, vgg, styleTargets, layers, weights: { content: 1, style: 5, tv: 1e-6 } };
    for (let i = 0; i < steps; i++) await trainStep(setup, optimizer, content);
    optimizer.dispose();
    disposeStyleTargets(styleTargets);
    tf.dispose([style, content]);
  }
  const uri = await exportModel(store, output, net, {
    trainedSteps: steps,
    style: options.style,
    imageSize: 32,
  });
  net.dispose();
  return uri;
}

export async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, "127.0.0.1");
  await once(srv, "listening");
  const address = srv.address();
  const port = typeof address === "object" && address ? address.port : 0;
  srv.close();
  await once(srv, "close");
  return port;
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Everything the process wrote (JSON log lines). */
  output(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

/** Starts `stylekube serve` as a child process and waits until /v2/health/live answers. */
export async function startServerProcess(env: Record<string, string>): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(REPO_ROOT, "test/integration/serving/serve-entry.ts")],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        STYLEKUBE_LOG_LEVEL: "info",
        STYLEKUBE_HTTP_HOST: "127.0.0.1",
        STYLEKUBE_HTTP_PORT: String(port),
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout?.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (out += d.toString()));
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const url = `http://127.0.0.1:${port}`;
  // Generous: on a loaded machine (load average 20 on 2 cores) a start took 74 s.
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${out}`);
    try {
      if ((await fetch(`${url}/v2/health/live`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not come up within 180 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGTERM");
      return exited;
    },
  };
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until the server's /v2/health/ready answers 200 (every style loaded, a healthy worker). */
export async function waitUntilReady(
  server: ServerProcess,
  what = "ready",
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    what,
    async () => ((await fetch(`${server.url}/v2/health/ready`)).ok ? true : undefined),
    timeoutMs,
  );
}

/** A photo-like test image (gradients plus noise, so JPEG truncation and codecs have real data). */
export async function testImage(
  width: number,
  height: number,
  format: "jpeg" | "png" | "webp" = "jpeg",
): Promise<Buffer> {
  const data = Buffer.alloc(width * height * 3);
  let seed = width * 7919 + height;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      const i = (y * width + x) * 3;
      data[i] = (x * 255) / Math.max(1, width - 1);
      data[i + 1] = (y * 255) / Math.max(1, height - 1);
      data[i + 2] = seed % 256;
    }
  }
  const img = sharp(data, { raw: { width, height, channels: 3 } });
  return format === "jpeg"
    ? img.jpeg().toBuffer()
    : format === "png"
      ? img.png().toBuffer()
      : img.webp().toBuffer();
}

export async function stylize(
  url: string,
  style: string,
  body: Uint8Array,
  options: { contentType?: string; accept?: string; query?: string } = {},
): Promise<{ status: number; headers: Headers; body: Buffer }> {
  const headers: Record<string, string> = { "content-type": options.contentType ?? "image/jpeg" };
  if (options.accept) headers.accept = options.accept;
  const res = await fetch(`${url}/v1/styles/${style}:stylize${options.query ?? ""}`, {
    method: "POST",
    headers,
    body,
  });
  return { status: res.status, headers: res.headers, body: Buffer.from(await res.arrayBuffer()) };
}

export function errorCode(body: Buffer): string | undefined {
  try {
    return (JSON.parse(body.toString()) as { error?: { code?: string } }).error?.code;
  } catch {
    return undefined;
  }
}

function pngChunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** A PNG (8-bit RGB) with the given header size and compressed pixel data, written by hand so any size is possible. */
export function handMadePng(width: number, height: number, idat: Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    pngChunk("IDAT", idat),
    pngChunk("IEND", Buffer.alloc(0)),
  ]);
}

/**
 * A real decompression bomb: a valid width×height PNG of one colour, whose
 * deflate stream is ~1/1000 of the pixels it expands to (20000×20000 RGB:
 * 1.2 GB of pixels in ~1.2 MB).
 */
export async function pngBomb(width: number, height: number): Promise<Buffer> {
  const deflate = createDeflate({ level: 9 });
  const parts: Buffer[] = [];
  deflate.on("data", (c: Buffer) => parts.push(c));
  const rowsPerWrite = 500;
  const rows = Buffer.alloc((width * 3 + 1) * rowsPerWrite); // filter byte 0 + black pixels
  for (let y = 0; y < height; y += rowsPerWrite) {
    const n = Math.min(rowsPerWrite, height - y);
    if (!deflate.write(rows.subarray(0, (width * 3 + 1) * n))) await once(deflate, "drain");
  }
  deflate.end();
  await once(deflate, "end");
  return handMadePng(width, height, Buffer.concat(parts));
}
