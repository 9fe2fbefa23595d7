// `npm run bench -- train-step [--quick]`: one training step (transformation
// network forward and backward, VGG-16 to relu4_3 on the output and to
// relu2_2 on the content, all loss terms, Adam) per engine that initialises
// here, at 128×128 batch 1 and 256×256 batch 4, in ms/step and GFLOP/s.
//
// GFLOP/s = 2 × the step's multiply-adds (counted from the layer shapes by
// stepMacs below) / the step's time. `cpu` is the in-run baseline; the
// forward-only VGG-16 conv throughput of `wasm` (XNNPACK) measured in the
// same run is the roofline the wasm step is compared with (its backward
// kernels are built from the same GEMM). --quick keeps the slow cpu runs to
// 128×128 batch 1 and one timed step (a cpu step at 256×256 batch 4 takes
// minutes). The last line is one JSON object for tooling.
import * as tf from "@tensorflow/tfjs-core";
import { type ConcreteEngine, EngineUnavailableError, initEngine } from "../trainer/engine/engines.js";
import { loadVgg16 } from "../trainer/loss-network/load.js";
import { PAPER_STYLE_LAYERS, VGG16_CONVS, type Vgg16 } from "../trainer/loss-network/vgg16.js";
import { computeStyleTargets, disposeStyleTargets, type LossLayers } from "../trainer/losses/index.js";
import { RESIDUAL_BLOCKS, TransformerNet } from "../trainer/model/transformer-net.js";
import {
  applyGradients,
  computeGradientsInPasses,
  createOptimizer,
  imagesPerPass,
} from "../trainer/train-step.js";

const quick = process.argv.includes("--quick");
const SIZES: readonly { size: number; batch: number }[] = [
  { size: 128, batch: 1 },
  { size: 256, batch: 4 },
];
const ENGINES: readonly ConcreteEngine[] = ["cpu", "wasm", "webgpu", "tensorflow"];
const LAYERS: LossLayers = { content: "relu2_2", style: PAPER_STYLE_LAYERS };

interface Result {
  engine: string;
  size: number;
  batch: number;
  /** Images per forward/backward pass (the batch's gradients are averaged over passes). */
  microBatch: number;
  msPerStep: number;
  gflops: number;
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

/** The transformation network's convs at S×S (default upsample-conv: the up convs run at the doubled size). */
function transformerConvs(s: number): Conv[] {
  const at = (size: number, cin: number, cout: number, k: number): Conv => ({
    positions: size * size,
    cin,
    cout,
    k,
  });
  return [
    at(s, 3, 32, 9),
    at(s / 2, 32, 64, 3),
    at(s / 4, 64, 128, 3),
    ...Array.from({ length: 2 * RESIDUAL_BLOCKS }, () => at(s / 4, 128, 128, 3)),
    at(s / 2, 128, 64, 3),
    at(s, 64, 32, 3),
    at(s, 32, 3, 9),
  ];
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
  engine: ConcreteEngine,
  vgg: Vgg16,
  size: number,
  batch: number,
  warmup: number,
  timed: number,
): Promise<number> {
  const net = new TransformerNet({ seed: 1 });
  const style = tf.randomUniform([1, size, size, 3], 0, 255, "float32", 3) as tf.Tensor4D;
  const styleTargets = computeStyleTargets(vgg, style, LAYERS.style);
  const content = tf.randomUniform([batch, size, size, 3], 0, 255, "float32", 4) as tf.Tensor4D;
  const setup = { net, vgg, styleTargets, layers: LAYERS, weights: { content: 1, style: 5, tv: 1e-6 } };
  const optimizer = createOptimizer();
  const micro = imagesPerPass(engine, size, batch);
  const step = async (): Promise<void> => {
    const { grads } = await computeGradientsInPasses(setup, content, micro);
    applyGradients(net, optimizer, grads);
  };
  for (let i = 0; i < warmup; i++) await step();
  const started = performance.now();
  // computeGradients reads the loss back, so each step has finished when it returns.
  for (let i = 0; i < timed; i++) await step();
  const ms = (performance.now() - started) / timed;
  tf.dispose([style, content]);
  disposeStyleTargets(styleTargets);
  optimizer.dispose();
  net.dispose();
  console.log(
    `${engine.padEnd(10)} ${size}×${size} batch ${batch}: ${ms.toFixed(0)} ms/step (${timed} timed)`,
  );
  return ms;
}

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

async function main(): Promise<void> {
  const results: Result[] = [];
  let wasmForwardConvGflops: number | null = null;
  const skipped: Record<string, string> = {};
  for (const engine of ENGINES) {
    try {
      await initEngine(engine);
    } catch (err) {
      skipped[engine] = err instanceof EngineUnavailableError ? err.message : String(err);
      console.log(`${engine}: skipped (${skipped[engine]})`);
      continue;
    }
    const vgg = await loadVgg16({ random: true, seed: 2 });
    if (engine === "wasm") wasmForwardConvGflops = await vggForwardGflops(vgg);
    for (const { size, batch } of SIZES) {
      const isCpu = engine === "cpu";
      if (isCpu && quick && size > 128) continue;
      const warmup = isCpu ? 0 : 1;
      const timed = isCpu ? (quick ? 1 : 2) : quick && size > 128 ? 1 : 3;
      const ms = await timeSteps(engine, vgg, size, batch, warmup, timed);
      const gflops = (2 * batch * stepMacs(size)) / ms / 1e6;
      results.push({
        engine,
        size,
        batch,
        microBatch: imagesPerPass(engine, size, batch),
        msPerStep: round(ms),
        gflops: round(gflops),
      });
    }
    vgg.dispose();
  }
  for (const r of results) {
    const base = results.find((b) => b.engine === "cpu" && b.size === r.size && b.batch === r.batch);
    const vsCpu =
      base !== undefined && r.engine !== "cpu" ? `, ${(base.msPerStep / r.msPerStep).toFixed(1)}× cpu` : "";
    const roof =
      wasmForwardConvGflops !== null
        ? `, ${((100 * r.gflops) / wasmForwardConvGflops).toFixed(0)} % of wasm fwd conv`
        : "";
    console.log(
      `${r.engine} ${r.size}×${r.size}×${r.batch}: ${r.msPerStep} ms, ${r.gflops} GFLOP/s${vsCpu}${roof}`,
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
