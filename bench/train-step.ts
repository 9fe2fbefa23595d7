// `npm run bench -- train-step [--quick] [--engines cpu,wasm,webgpu,webgpu-stock,onnxruntime-cpu,…]
//   [--sizes 128x1,256x4] [--no-pytorch | --no-pytorch-cpu] [--profile]`: one training step
// (transformation network forward and backward, VGG-16 to relu4_3 on the
// output and to relu2_2 on the content, all loss terms, Adam) per engine that
// initialises here, at 128×128 batch 1 and 256×256 batch 4, in ms/step and
// GFLOP/s.
//
// PyTorch anchor: where `python3` can import torch, the same step written as
// pytorch/examples' fast_neural_style writes it (bench/pytorch/train_step.py)
// runs in the same benchmark: on the CPU with PyTorch's default threads and
// with one thread (wasm runs on one), and on CUDA (TF32, PyTorch's default
// for convolutions, and strict FP32) where a GPU is visible.
// `webgpu-stock` is the webgpu engine with tfjs's own convolution gradients
// instead of ours (trainer/engine/webgpu-kernels.ts); --profile prints the
// time per kernel of one step at the last size (on webgpu: GPU time from
// timestamp queries; on onnxruntime: ONNX Runtime's profile per op type).
// `onnxruntime-cpu`, `onnxruntime-webgpu`, `onnxruntime-cuda`: the whole step as
// one ONNX Runtime graph (trainer/onnx/) on that execution provider, plus
// Adam in tfjs (cpu backend); the session is built in the warm-up. Threads:
// STYLEKUBE_WASM_THREADS for wasm and for ONNX Runtime's CPU provider alike.
// Each row also gives the process's peak RSS so far (getrusage: it only
// grows, so the engines run in the order given, onnxruntime first by default).
//
// GFLOP/s = 2 × the step's multiply-adds (counted from the layer shapes by
// stepMacs below) / the step's time. `cpu` is the in-run baseline; the
// forward-only VGG-16 conv throughput of `wasm` (XNNPACK) measured in the
// same run is the roofline the wasm step is compared with (its backward
// kernels are built from the same GEMM). --quick keeps the slow cpu runs to
// 128×128 batch 1 and one timed step (a cpu step at 256×256 batch 4 takes
// minutes). The last line is one JSON object for tooling.
import { spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { type ConcreteEngine, EngineUnavailableError, initEngine } from "../trainer/engine/engines.js";
import { unflattenTensors } from "../model/parameters.js";
import { OnnxTrainer, type OrtProvider } from "../trainer/onnx/onnx-trainer.js";
import { loadVgg16 } from "../trainer/loss-network/load.js";
import { PAPER_STYLE_LAYERS, VGG16_CONVS, type Vgg16 } from "../trainer/loss-network/vgg16.js";
import { computeStyleTargets, disposeStyleTargets, type LossLayers } from "../trainer/losses/index.js";
import { RESIDUAL_KERNEL, TRANSFORMER_NET, UP_KERNEL } from "../model/architecture.js";
import { TransformerNet } from "../model/transformer-net.js";
import {
  applyGradients,
  computeGradientsInPasses,
  createOptimizer,
  imagesPerPass,
  type TrainStepSetup,
} from "../trainer/train-step.js";
import { opTimes } from "./support/ort-profile.js";

const argv = process.argv.slice(2);
const quick = argv.includes("--quick");
const profile = argv.includes("--profile");
const withPytorch = !argv.includes("--no-pytorch");

/** The value after `--name`, if given. */
function option(name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

/** An engine of the benchmark: a compute engine, or webgpu with tfjs's stock convolution gradients. */
type OnnxBenchEngine = "onnxruntime-cpu" | "onnxruntime-webgpu" | "onnxruntime-cuda";
type BenchEngine = Exclude<ConcreteEngine, "onnxruntime"> | "webgpu-stock" | OnnxBenchEngine;
const ALL_ENGINES: readonly BenchEngine[] = [
  "onnxruntime-cpu",
  "onnxruntime-webgpu",
  "onnxruntime-cuda",
  "cpu",
  "wasm",
  "webgpu",
  "webgpu-stock",
  "tensorflow",
];

function ortProviderOf(engine: BenchEngine): OrtProvider | undefined {
  return engine.startsWith("onnxruntime-") ? (engine.slice("onnxruntime-".length) as OrtProvider) : undefined;
}

/** The process's peak resident set so far, in MiB. */
function peakRssMiB(): number {
  return Math.round(process.resourceUsage().maxRSS / 1024);
}

function parseEngines(text: string | undefined): BenchEngine[] {
  if (text === undefined) return ALL_ENGINES.filter((e) => e !== "webgpu-stock");
  return text.split(",").map((e) => {
    if (!(ALL_ENGINES as readonly string[]).includes(e)) {
      throw new Error(`--engines: unknown engine "${e}" (choose from ${ALL_ENGINES.join(", ")})`);
    }
    return e as BenchEngine;
  });
}

function parseSizes(text: string | undefined): { size: number; batch: number }[] {
  if (text === undefined) {
    return [
      { size: 128, batch: 1 },
      { size: 256, batch: 4 },
    ];
  }
  return text.split(",").map((item) => {
    const m = /^(\d+)x(\d+)$/.exec(item);
    if (m === null || Number(m[1]) % 4 !== 0) {
      throw new Error(`--sizes: "${item}" is not SIZExBATCH with SIZE a multiple of 4 (e.g. 256x4)`);
    }
    return { size: Number(m[1]), batch: Number(m[2]) };
  });
}

const SIZES = parseSizes(option("sizes"));
const ENGINES = parseEngines(option("engines"));
const LAYERS: LossLayers = { content: "relu2_2", style: PAPER_STYLE_LAYERS };

interface Result {
  engine: string;
  size: number;
  batch: number;
  /** Images per forward/backward pass (the batch's gradients are averaged over passes). */
  microBatch?: number;
  msPerStep: number;
  gflops: number;
  /** CPU threads (wasm, pytorch-cpu). */
  threads?: number | null;
  /** pytorch-cuda: "tf32" (PyTorch's default for convolutions) or "fp32". */
  precision?: string;
  /** Peak RSS of the benchmark process when the row finished (MiB; only grows). */
  peakRssMiB?: number;
}

// ---------------------------------------------------------------- FLOP count

interface Conv {
  /** Output positions per image. */
  positions: number;
  cin: number;
  cout: number;
  k: number;
}

const macs = (c: Conv): number => c.positions * c.cin * c.cout * c.k * c.k;

/** The transformation network's convs at S×S, from its architecture (default upsample-conv: the up convs run at the doubled size). */
function transformerConvs(s: number): Conv[] {
  const at = (size: number, cin: number, cout: number, k: number): Conv => ({
    positions: size * size,
    cin,
    cout,
    k,
  });
  let size = s;
  const convs: Conv[] = [];
  for (const stage of TRANSFORMER_NET) {
    switch (stage.kind) {
      case "conv":
        size /= stage.stride;
        convs.push(at(size, stage.in, stage.out, stage.kernel));
        break;
      case "residual":
        convs.push(at(size, stage.channels, stage.channels, RESIDUAL_KERNEL));
        convs.push(at(size, stage.channels, stage.channels, RESIDUAL_KERNEL));
        break;
      case "up":
        size *= 2;
        convs.push(at(size, stage.in, stage.out, UP_KERNEL));
        break;
      case "output":
        convs.push(at(size, stage.in, stage.out, stage.kernel));
        break;
    }
  }
  return convs;
}

/** VGG-16's convs at S×S up to the given conv (inclusive). */
function vggConvs(s: number, last: string): Conv[] {
  const out: Conv[] = [];
  for (const c of VGG16_CONVS) {
    const size = s >> (c.block - 1);
    out.push({ positions: size * size, cin: c.inChannels, cout: c.outChannels, k: 3 });
    if (c.name === last) break;
  }
  return out;
}

/**
 * Multiply-adds of one training step per image: transformation network
 * forward + input gradient (all convs but the first, whose input is the
 * image) + filter gradient (all); VGG-16 on the output forward + input
 * gradient (its weights are frozen: no filter gradient); VGG-16 on the
 * content forward only; Gram matrices forward + two products backward.
 * Element-wise work (norms, ReLU, pooling, Adam) is not counted.
 */
function stepMacs(s: number): number {
  const t = transformerConvs(s);
  const tf_ = t.reduce((a, c) => a + macs(c), 0);
  const tDx = tf_ - macs(t[0] as Conv);
  const vOut = vggConvs(s, "conv4_3").reduce((a, c) => a + macs(c), 0);
  const vContent = vggConvs(s, "conv2_2").reduce((a, c) => a + macs(c), 0);
  const grams = [
    [s, 64],
    [s / 2, 128],
    [s / 4, 256],
    [s / 8, 512],
  ].reduce((a, [size, c]) => a + (size as number) ** 2 * (c as number) ** 2, 0);
  return 3 * tf_ - (tf_ - tDx) + 2 * vOut + vContent + 3 * grams;
}

// ---------------------------------------------------------------- timing

async function timeSteps(
  engine: BenchEngine,
  vgg: Vgg16,
  size: number,
  batch: number,
  warmup: number,
  timed: number,
  profileStep: boolean,
): Promise<number> {
  const net = new TransformerNet({ seed: 1 });
  const style = tf.randomUniform([1, size, size, 3], 0, 255, "float32", 3) as tf.Tensor4D;
  const styleTargets = computeStyleTargets(vgg, style, LAYERS.style);
  const content = tf.randomUniform([batch, size, size, 3], 0, 255, "float32", 4) as tf.Tensor4D;
  const setup = { net, vgg, styleTargets, layers: LAYERS, weights: { content: 1, style: 5, tv: 1e-6 } };
  const optimizer = createOptimizer();
  const micro = imagesPerPass(concrete(engine), size, batch);
  const provider = ortProviderOf(engine);
  const onnx = provider === undefined ? undefined : new OnnxTrainer(setup, { provider, threads: ortThreads });
  const contentData = (await content.data()) as Float32Array;
  const step = async (): Promise<void> => {
    if (onnx !== undefined) {
      // The whole batch in one session run (no passes), then Adam on the flat gradient.
      const { flat } = await onnx.computeGradients(contentData, [batch, size, size, 3]);
      applyGradients(net, optimizer, unflattenTensors(flat, net.params));
      return;
    }
    const { grads } = await computeGradientsInPasses(setup, content, micro);
    applyGradients(net, optimizer, grads);
  };
  for (let i = 0; i < warmup; i++) await step();
  const started = performance.now();
  // computeGradients reads the loss back, so each step's forward and backward
  // have finished when it returns; the last Adam update is waited for by
  // reading one parameter back.
  for (let i = 0; i < timed; i++) await step();
  await (net.params.values().next().value as tf.Tensor).data();
  const ms = (performance.now() - started) / timed;
  console.log(
    `${engine.padEnd(12)} ${size}×${size} batch ${batch}: ${ms.toFixed(1)} ms/step (${timed} timed)`,
  );
  if (profileStep && onnx === undefined) await printKernelProfile(engine, step);
  if (profileStep && provider !== undefined)
    await printOnnxProfile(setup, provider, contentData, batch, size);
  await onnx?.dispose();
  tf.dispose([style, content]);
  disposeStyleTargets(styleTargets);
  optimizer.dispose();
  net.dispose();
  return ms;
}

/**
 * Time per kernel of one step, from tf.profile: wall time per kernel on the
 * CPU engines; GPU time on webgpu (it times each program with timestamp
 * queries, which splits its command batching, so the total is a breakdown,
 * not the step's time).
 */
async function printKernelProfile(engine: BenchEngine, step: () => Promise<void>): Promise<void> {
  const info = await tf.profile(step);
  const byKernel = new Map<string, { ms: number; calls: number }>();
  let total = 0;
  let untimed = 0;
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : Number.NaN;
    if (!Number.isFinite(ms)) {
      untimed++;
      continue;
    }
    total += ms;
    const e = byKernel.get(k.name) ?? { ms: 0, calls: 0 };
    e.ms += ms;
    e.calls++;
    byKernel.set(k.name, e);
  }
  console.log(
    `  ${engine} kernel profile: ${info.kernels.length} kernels, ${total.toFixed(1)} ms of kernel time` +
      (untimed > 0 ? `, ${untimed} without a time (no timestamp queries?)` : ""),
  );
  for (const [name, e] of [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 14)) {
    console.log(
      `    ${name.padEnd(26)} ${e.ms.toFixed(2).padStart(9)} ms  ${((100 * e.ms) / total).toFixed(1).padStart(5)} %  ${e.calls} calls`,
    );
  }
}

/**
 * ONNX Runtime's own profile of two steps on a fresh profiled session (so
 * the timed steps above ran without the profiler): kernel time per op type.
 */
async function printOnnxProfile(
  setup: TrainStepSetup,
  provider: OrtProvider,
  content: Float32Array,
  batch: number,
  size: number,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "stylekube-ort-profile-"));
  const trainer = new OnnxTrainer(setup, {
    provider,
    threads: ortThreads,
    profileFilePrefix: join(dir, "step"),
  });
  try {
    for (let i = 0; i < 3; i++) await trainer.computeGradients(content, [batch, size, size, 3]);
    const files = await trainer.endProfiling();
    const { runs, totalMs, ops } = await opTimes(files[files.length - 1]!);
    // The first run builds the session's memory plan; the per-run figures include it.
    console.log(
      `  onnxruntime-${provider} profile: ${runs} runs, ${totalMs.toFixed(1)} ms of kernel time per run`,
    );
    for (const o of ops.slice(0, 16)) {
      console.log(
        `    ${o.op.padEnd(20)} ${o.ms.toFixed(1).padStart(8)} ms  ${((100 * o.ms) / totalMs).toFixed(1).padStart(5)} %  ${o.nodes} nodes`,
      );
    }
  } finally {
    await trainer.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

/** The compute engine behind a benchmark engine. */
function concrete(engine: BenchEngine): ConcreteEngine {
  return engine === "webgpu-stock"
    ? "webgpu"
    : ortProviderOf(engine) !== undefined
      ? "onnxruntime"
      : (engine as ConcreteEngine);
}

/** ONNX Runtime's CPU threads: the wasm engine's setting, so both run on the same cores. */
const ortThreads = Math.max(1, Number(process.env.STYLEKUBE_WASM_THREADS ?? "1"));

/** VGG-16 forward to relu4_3 at 256×256 batch 1 on the current engine; GFLOP/s of its convs. */
async function vggForwardGflops(vgg: Vgg16): Promise<number> {
  const s = 256;
  const x = tf.randomUniform([1, s, s, 3], 0, 255, "float32", 5) as tf.Tensor4D;
  const run = async (): Promise<void> => {
    const out = tf.tidy(() => vgg.features(x, ["relu4_3"]).get("relu4_3") as tf.Tensor);
    await out.data();
    out.dispose();
  };
  await run();
  const reps = quick ? 2 : 4;
  const started = performance.now();
  for (let i = 0; i < reps; i++) await run();
  const ms = (performance.now() - started) / reps;
  x.dispose();
  const flops = 2 * vggConvs(s, "conv4_3").reduce((a, c) => a + macs(c), 0);
  const gflops = flops / ms / 1e6;
  console.log(
    `wasm VGG-16 forward convs (256×256, to relu4_3): ${ms.toFixed(0)} ms, ${gflops.toFixed(1)} GFLOP/s`,
  );
  return gflops;
}

// ---------------------------------------------------------------- PyTorch

interface PytorchResult {
  engine: string;
  size: number;
  batch: number;
  msPerStep: number;
  threads: number | null;
  precision: string;
  torch: string;
  device: string | null;
}

const PYTORCH_SCRIPT = fileURLToPath(new URL("./pytorch/train_step.py", import.meta.url));

/** What python3's torch offers here, or why it cannot run. */
function probePytorch(): { cuda: boolean; version: string } | string {
  const r = spawnSync(
    "python3",
    [
      "-c",
      "import json, torch; print(json.dumps({'cuda': torch.cuda.is_available(), 'version': torch.__version__}))",
    ],
    { encoding: "utf8", timeout: 120_000 },
  );
  if (r.error !== undefined) return `python3 not runnable (${r.error.message})`;
  if (r.status !== 0) return `python3 cannot import torch (${r.stderr.trim().split("\n").pop() ?? ""})`;
  return JSON.parse(r.stdout) as { cuda: boolean; version: string };
}

function runPytorch(args: string[]): PytorchResult | string {
  const r = spawnSync("python3", [PYTORCH_SCRIPT, ...args], { encoding: "utf8", timeout: 600_000 });
  if (r.status !== 0)
    return `failed: ${(r.stderr || String(r.error)).trim().split("\n").slice(-3).join(" | ")}`;
  const line = r.stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(line) as PytorchResult;
}

async function benchPytorch(results: Result[], skipped: Record<string, string>): Promise<void> {
  const probe = probePytorch();
  if (typeof probe === "string") {
    skipped["pytorch"] = probe;
    console.log(`pytorch: skipped (${probe})`);
    return;
  }
  const runs: { label: string; args: string[] }[] = [];
  for (const { size, batch } of SIZES) {
    const sb = ["--size", String(size), "--batch", String(batch)];
    if (!argv.includes("--no-pytorch-cpu"))
      runs.push({ label: "pytorch-cpu", args: ["--device", "cpu", ...sb] });
    // One thread, as wasm runs: only at the first size (a 256×256 batch-4 step takes ~10 s on one core).
    if (size === SIZES[0]?.size && batch === SIZES[0]?.batch && !argv.includes("--no-pytorch-cpu")) {
      runs.push({ label: "pytorch-cpu, 1 thread", args: ["--device", "cpu", "--threads", "1", ...sb] });
    }
    if (probe.cuda) {
      runs.push({ label: "pytorch-cuda tf32", args: ["--device", "cuda", ...sb] });
      runs.push({ label: "pytorch-cuda fp32", args: ["--device", "cuda", "--strict-fp32", ...sb] });
    }
  }
  if (!probe.cuda) console.log(`pytorch ${probe.version}: no CUDA device, CPU only`);
  for (const run of runs) {
    const r = runPytorch(quick ? [...run.args, "--steps", "2"] : run.args);
    if (typeof r === "string") {
      skipped[run.label] = r;
      console.log(`${run.label}: ${r}`);
      continue;
    }
    console.log(
      `${run.label.padEnd(22)} ${r.size}×${r.size} batch ${r.batch}: ${r.msPerStep.toFixed(1)} ms/step` +
        (r.device !== null
          ? ` (${r.device}, torch ${r.torch})`
          : ` (${r.threads} threads, torch ${r.torch})`),
    );
    results.push({
      engine: r.engine,
      size: r.size,
      batch: r.batch,
      msPerStep: round(r.msPerStep),
      gflops: round((2 * r.batch * stepMacs(r.size)) / r.msPerStep / 1e6),
      threads: r.threads,
      precision: r.precision,
    });
  }
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const results: Result[] = [];
  let wasmForwardConvGflops: number | null = null;
  const skipped: Record<string, string> = {};
  for (const engine of ENGINES) {
    let threads: number | undefined;
    try {
      const provider = ortProviderOf(engine);
      const info = await initEngine(concrete(engine), {
        ...(engine === "webgpu-stock"
          ? { webgpuKernels: "stock" }
          : engine === "webgpu"
            ? { webgpuKernels: "fast" }
            : provider !== undefined
              ? { ortProvider: provider, wasmThreads: ortThreads }
              : {}),
      });
      threads = info.threads;
    } catch (err) {
      skipped[engine] = err instanceof EngineUnavailableError ? err.message : String(err);
      console.log(`${engine}: skipped (${skipped[engine]})`);
      continue;
    }
    const vgg = await loadVgg16({ random: true, seed: 2 });
    if (engine === "wasm") wasmForwardConvGflops = await vggForwardGflops(vgg);
    const gpu = concrete(engine) === "webgpu";
    for (const { size, batch } of SIZES) {
      const isCpu = engine === "cpu";
      if (isCpu && quick && size > 128) continue;
      const onGpu = gpu || engine === "onnxruntime-webgpu" || engine === "onnxruntime-cuda";
      const warmup = isCpu ? 0 : onGpu ? 2 : 1;
      const timed = isCpu ? (quick ? 1 : 2) : onGpu ? 10 : quick && size > 128 ? 1 : 3;
      const last = size === SIZES[SIZES.length - 1]?.size && batch === SIZES[SIZES.length - 1]?.batch;
      const ms = await timeSteps(engine, vgg, size, batch, warmup, timed, profile && last);
      const gflops = (2 * batch * stepMacs(size)) / ms / 1e6;
      results.push({
        engine,
        size,
        batch,
        microBatch: imagesPerPass(concrete(engine), size, batch),
        msPerStep: round(ms),
        gflops: round(gflops),
        ...(threads !== undefined ? { threads } : {}),
        peakRssMiB: peakRssMiB(),
      });
    }
    vgg.dispose();
  }
  if (withPytorch) await benchPytorch(results, skipped);

  const same = (r: Result, engine: string, extra: (b: Result) => boolean = () => true): Result | undefined =>
    results.find((b) => b.engine === engine && b.size === r.size && b.batch === r.batch && extra(b));
  for (const r of results) {
    const notes: string[] = [];
    const cpu = same(r, "cpu");
    if (cpu !== undefined && r.engine !== "cpu")
      notes.push(`${(cpu.msPerStep / r.msPerStep).toFixed(1)}× cpu`);
    if (wasmForwardConvGflops !== null && !r.engine.startsWith("pytorch")) {
      notes.push(`${((100 * r.gflops) / wasmForwardConvGflops).toFixed(0)} % of wasm fwd conv`);
    }
    // The anchors users compare with: PyTorch on the same kind of device.
    const anchor = r.engine.startsWith("webgpu")
      ? same(r, "pytorch-cuda", (b) => b.precision === "fp32")
      : r.engine === "wasm"
        ? same(r, "pytorch-cpu", (b) => b.threads === 1)
        : r.engine === "onnxruntime-cpu"
          ? (same(r, "pytorch-cpu", (b) => b.threads === r.threads) ?? same(r, "pytorch-cpu"))
          : undefined;
    if (anchor !== undefined) {
      notes.push(
        `${(r.msPerStep / anchor.msPerStep).toFixed(1)}× the time of ${anchor.engine} ${anchor.precision ?? ""}${anchor.threads === 1 ? " 1 thread" : ""}`.replace(
          "  ",
          " ",
        ),
      );
    }
    const wasm = r.engine.startsWith("onnxruntime-") ? same(r, "wasm") : undefined;
    if (wasm !== undefined) {
      notes.push(
        `${(wasm.msPerStep / r.msPerStep).toFixed(1)}× wasm (${wasm.threads ?? "?"}t vs ${r.threads ?? "?"}t)`,
      );
    }
    if (r.peakRssMiB !== undefined) notes.push(`peak RSS ${r.peakRssMiB} MiB`);
    const stock = r.engine === "webgpu" ? same(r, "webgpu-stock") : undefined;
    if (stock !== undefined) notes.push(`${(stock.msPerStep / r.msPerStep).toFixed(1)}× webgpu-stock`);
    const label = `${r.engine}${r.precision !== undefined ? ` ${r.precision}` : ""}${r.threads !== undefined && r.threads !== null ? ` ${r.threads}t` : ""}`;
    console.log(
      `${label} ${r.size}×${r.size}×${r.batch}: ${r.msPerStep} ms, ${r.gflops} GFLOP/s${notes.length > 0 ? `, ${notes.join(", ")}` : ""}`,
    );
  }
  console.log(
    JSON.stringify({
      bench: "train-step",
      baseline: "cpu",
      quick,
      wasmForwardConvGflops: wasmForwardConvGflops === null ? null : round(wasmForwardConvGflops),
      gflopPerImageStep: Object.fromEntries(
        SIZES.map(({ size }) => [size, round((2 * stepMacs(size)) / 1e9)]),
      ),
      skipped,
      results,
    }),
  );
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

await main();
