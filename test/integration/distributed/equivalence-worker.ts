// One process of the equivalence test: trains the real transformation network
// for a few steps on deterministic synthetic images, averaging gradients with
// its peers over NATS (worldSize > 1) or alone on the union batch
// (worldSize 1), and writes its final weights to a file.
import { writeFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import { Collective } from "../../../trainer/collectives/index.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import { computeStyleTargets } from "../../../trainer/losses/style-reconstruction.js";
import { flattenTensors, unflattenTensors } from "../../../model/parameters.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { Sgd } from "../../../trainer/optimizer/adam.js";
import { stepEngineFor } from "../../../trainer/step/step-engine.js";
import { applyGradients, type TrainStepSetup } from "../../../trainer/train-step.js";
import { syntheticImage } from "./synthetic-images.js";

export const ArgsSchema = z.object({
  natsUrl: z.string(),
  jobId: z.string(),
  rank: z.int().min(0),
  worldSize: z.int().min(1),
  /** Total images per step over all workers; each worker takes globalBatch / worldSize. */
  globalBatch: z.int().min(1),
  steps: z.int().min(1),
  size: z.int().min(8),
  learningRate: z.number(),
  out: z.string(),
  /** cpu: the tfjs step; onnxruntime: the whole step as one ONNX Runtime session run. */
  engine: z.enum(["cpu", "onnxruntime"]).default("cpu"),
  /** onnxruntime only: ONNX Runtime's execution provider. */
  provider: z.enum(["cpu", "webgpu"]).default("cpu"),
});
export type Args = z.infer<typeof ArgsSchema>;

async function main(args: Args): Promise<void> {
  const engine = await initEngine(
    args.engine,
    args.engine === "onnxruntime" ? { ortProvider: args.provider } : {},
  );
  const vgg = await loadVgg16({ random: true, seed: 1 });
  const style = tf.tensor4d(syntheticImage(1_000_000, args.size), [1, args.size, args.size, 3]);
  const layers = { content: "relu1_2" as const, style: ["relu1_2", "relu2_2"] as const };
  const setup: TrainStepSetup = {
    net: new TransformerNet({ seed: 3 }),
    vgg,
    styleTargets: computeStyleTargets(vgg, style, layers.style),
    layers: { content: layers.content, style: [...layers.style] },
    weights: { content: 1, style: 5, tv: 1e-6 },
  };
  // Plain SGD: Adam divides by √v, which turns float-noise gradients (the conv
  // biases before instance norm have a true gradient of 0) into ±lr steps, so
  // only SGD makes "equal to float tolerance" a meaningful check of the averaging.
  const optimizer = new Sgd(args.learningRate);
  const collective =
    args.worldSize > 1
      ? await Collective.join({
          nats: { url: args.natsUrl },
          jobId: args.jobId,
          attempt: 1,
          rank: args.rank,
          worldSize: args.worldSize,
        })
      : undefined;
  const gradientStep = stepEngineFor(engine).gradientStep(setup, {
    batchSize: args.globalBatch / args.worldSize,
    imageSize: args.size,
  });
  const perWorker = args.globalBatch / args.worldSize;
  const pixels = args.size * args.size * 3;
  for (let step = 0; step < args.steps; step++) {
    const first = step * args.globalBatch + args.rank * perWorker;
    const data = new Float32Array(perWorker * pixels);
    for (let i = 0; i < perWorker; i++) data.set(syntheticImage(first + i, args.size), i * pixels);
    const shape: [number, number, number, number] = [perWorker, args.size, args.size, 3];
    const { flat } = await gradientStep.computeGradients({ data, shape });
    if (collective) await collective.allreduceMean(flat, step + 1);
    applyGradients(setup.net, optimizer, unflattenTensors(flat, setup.net.params));
  }
  await gradientStep.dispose();
  await collective?.barrier("done");
  await collective?.close();
  const weights = await flattenTensors(setup.net.params);
  writeFileSync(args.out, Buffer.from(weights.buffer, weights.byteOffset, weights.byteLength));
}

await main(ArgsSchema.parse(JSON.parse(process.argv[2] ?? "{}")));
