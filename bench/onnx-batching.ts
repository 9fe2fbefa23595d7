// `npm run bench -- onnx-batching [--sizes 256,512] [--rounds 5]`: two
// questions about the onnxruntime serving engine, asked of ONNX Runtime
// directly (one session, CPU provider, the transformer network with random
// weights), interleaved round by round so that load on the machine hits
// every variant alike:
//   1. micro-batching: does one run of a batch of 2 same-size images beat
//      two runs of 1 (the most a server that batches concurrent requests
//      could gain)?
//   2. the CPU memory arena: what does turning it off (so a session returns
//      its memory after each run, instead of keeping its high-water mark per
//      model) cost per image?
//   3. the memory pattern: what does turning it off (as the server does,
//      serving/onnx-session.ts) cost per image?
// Prints per-image milliseconds (median of rounds) and one JSON line.
import * as ort from "onnxruntime-node";
import { initInferenceEngine } from "../model/engine/engines.js";
import { transformerNetOnnx } from "../model/onnx/export.js";
import { TransformerNet } from "../model/transformer-net.js";
import { percentile } from "./support/percentile.js";

const argv = process.argv.slice(2);
const flag = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);
const sizes = (flag("--sizes") ?? "256,512").split(",").map(Number);
const rounds = Number(flag("--rounds") ?? 5);

await initInferenceEngine("cpu");
const net = new TransformerNet({ seed: 1 });
const weights = new Map(
  await Promise.all(
    [...net.params, ...net.buffers].map(
      async ([name, v]) => [name, { shape: v.shape, data: (await v.data()) as Float32Array }] as const,
    ),
  ),
);
const bytes = transformerNetOnnx({
  normalization: "instance",
  upsampling: "upsample-conv",
  weights,
  producerVersion: "bench",
});
net.dispose();
const withArena = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: "all" });
const noArena = await ort.InferenceSession.create(bytes, {
  graphOptimizationLevel: "all",
  enableCpuMemArena: false,
});
const noPattern = await ort.InferenceSession.create(bytes, {
  graphOptimizationLevel: "all",
  enableMemPattern: false,
});

const images = (n: number, size: number) =>
  new ort.Tensor("float32", new Float32Array(n * 3 * size * size).fill(128), [n, 3, size, size]);
async function timed(session: ort.InferenceSession, n: number, size: number): Promise<number> {
  const x = images(n, size);
  const t0 = performance.now();
  const out = await session.run({ images: x });
  const ms = performance.now() - t0;
  for (const t of Object.values(out)) t.dispose();
  x.dispose();
  return ms;
}

const rows = [];
for (const size of sizes) {
  // Warm every shape once.
  await timed(withArena, 1, size);
  await timed(withArena, 2, size);
  await timed(noArena, 1, size);
  await timed(noPattern, 1, size);
  const single: number[] = [];
  const batch2: number[] = [];
  const arenaOff: number[] = [];
  const patternOff: number[] = [];
  for (let r = 0; r < rounds; r++) {
    single.push(((await timed(withArena, 1, size)) + (await timed(withArena, 1, size))) / 2);
    batch2.push((await timed(withArena, 2, size)) / 2);
    arenaOff.push(((await timed(noArena, 1, size)) + (await timed(noArena, 1, size))) / 2);
    patternOff.push(((await timed(noPattern, 1, size)) + (await timed(noPattern, 1, size))) / 2);
  }
  const row = {
    size,
    singleMsPerImage: Math.round(percentile(single, 50)),
    batch2MsPerImage: Math.round(percentile(batch2, 50)),
    arenaOffMsPerImage: Math.round(percentile(arenaOff, 50)),
    patternOffMsPerImage: Math.round(percentile(patternOff, 50)),
  };
  rows.push(row);
  console.error(
    `${size}²: one at a time ${row.singleMsPerImage} ms/image, batch of 2 ${row.batch2MsPerImage} ms/image, arena off ${row.arenaOffMsPerImage} ms/image, memory pattern off ${row.patternOffMsPerImage} ms/image`,
  );
}
await withArena.release();
await noArena.release();
await noPattern.release();
console.log(JSON.stringify({ bench: "onnx-batching", rounds, rows }));
