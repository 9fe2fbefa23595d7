// `npm run bench -- dispatch-overhead [--engines cpu,wasm,webgpu]`: the
// host-side cost of one tfjs kernel call on each engine that initialises
// here: a chain of N element-wise adds on a tiny tensor (where the work is
// nothing and the time is dispatch: tfjs's engine, the backend, and for
// webgpu Dawn's command recording and queue submits), then the same chain
// on 1 Mi floats for contrast. A training step at 256×256 runs ~2,900
// kernels, so a per-kernel cost of c µs puts a floor of 2.9·c ms under it.
// The last line is one JSON object.
import * as tf from "@tensorflow/tfjs-core";
import { type ConcreteEngine, initInferenceEngine } from "../model/engine/engines.js";

const argv = process.argv.slice(2);
const i = argv.indexOf("--engines");
const ENGINES = (i >= 0 ? (argv[i + 1] ?? "") : "cpu,wasm,webgpu").split(",") as ConcreteEngine[];
const CHAIN = 2000;

async function usPerKernel(size: number): Promise<number> {
  const x = tf.fill([size], 1);
  // Each intermediate is freed as soon as the next exists, as in a real graph.
  const chain = (): tf.Tensor => {
    let y = tf.clone(x);
    for (let k = 0; k < CHAIN; k++) {
      const next = tf.add(y, 1);
      y.dispose();
      y = next;
    }
    return y;
  };
  const warm = chain();
  await warm.data();
  warm.dispose();
  const started = performance.now();
  const y = chain();
  await y.data();
  const us = ((performance.now() - started) * 1000) / CHAIN;
  y.dispose();
  x.dispose();
  return us;
}

const results: { engine: string; floats: number; usPerKernel: number }[] = [];
for (const engine of ENGINES) {
  try {
    await initInferenceEngine(engine);
  } catch (err) {
    console.log(`${engine}: skipped (${err instanceof Error ? err.message : String(err)})`);
    continue;
  }
  for (const floats of [16, 1 << 20]) {
    const us = await usPerKernel(floats);
    results.push({ engine, floats, usPerKernel: Math.round(us * 10) / 10 });
    console.log(
      `${engine.padEnd(7)} add on ${String(floats).padStart(7)} floats: ${us.toFixed(1)} µs per kernel`,
    );
  }
}
console.log(JSON.stringify({ bench: "dispatch-overhead", chain: CHAIN, results }));
