// Train k steps, checkpoint, resume in fresh objects, train k more: bit for
// bit the same weights as 2k steps without stopping. The real transformation
// network and losses, at 16×16 with a random VGG-16, on the cpu, wasm and
// onnxruntime engines (ONNX Runtime's CPU provider, and its WebGPU provider
// where that starts: in CI on Mesa's lavapipe).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { FileStore } from "../../../common/storage/index.js";
import { loadCheckpoint, saveCheckpoint } from "../../../trainer/checkpoint/checkpoints.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import type { Vgg16 } from "../../../trainer/loss-network/vgg16.js";
import { computeStyleTargets, type StyleTargets } from "../../../trainer/losses/style-reconstruction.js";
import { flattenTensors, unflattenTensors } from "../../../model/parameters.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { Adam } from "../../../trainer/optimizer/adam.js";
import { OnnxTrainer } from "../../../trainer/onnx/onnx-trainer.js";
import { applyGradients, trainStep, type TrainStepSetup } from "../../../trainer/train-step.js";
import { syntheticImage } from "../../integration/distributed/synthetic-images.js";
import type { OrtProvider } from "../../../model/onnx/providers.js";
import { ortTestProviders } from "../../support/ort-providers.js";

const SIZE = 16;
const ORT_TEST_PROVIDERS = await ortTestProviders();
const K = 2;

describe("resume is exact", () => {
  let dir: string;
  let vgg: Vgg16;
  let targets: StyleTargets;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "stylekube-resume-"));
  });

  /** Engine, loss network and style targets on that engine. */
  async function onEngine(engine: "cpu" | "wasm" | "onnxruntime", provider?: OrtProvider): Promise<void> {
    await initEngine(engine, provider === undefined ? {} : { ortProvider: provider });
    vgg = await loadVgg16({ random: true, seed: 1 });
    targets = computeStyleTargets(vgg, tf.tensor4d(syntheticImage(999, SIZE), [1, SIZE, SIZE, 3]), [
      "relu1_2",
      "relu2_2",
    ]);
  }
  after(() => rmSync(dir, { recursive: true, force: true }));

  const setupFor = (net: TransformerNet): TrainStepSetup => ({
    net,
    vgg,
    styleTargets: targets,
    layers: { content: "relu1_2", style: ["relu1_2", "relu2_2"] },
    weights: { content: 1, style: 5, tv: 1e-6 },
  });
  const batch = (step: number) => tf.tensor4d(syntheticImage(step, SIZE), [1, SIZE, SIZE, 3]);

  /**
   * One step on the engine: tfjs's trainStep, or on onnxruntime the whole
   * step as one ONNX Runtime session run (a new trainer, so a new session,
   * per network, as a resumed worker has) and Adam on the flat gradient.
   */
  const trainers = new Map<TransformerNet, OnnxTrainer>();
  async function step(
    engine: string,
    provider: OrtProvider | undefined,
    net: TransformerNet,
    opt: Adam,
    s: number,
  ): Promise<void> {
    if (engine !== "onnxruntime" || provider === undefined) {
      await trainStep(setupFor(net), opt, batch(s));
      return;
    }
    let trainer = trainers.get(net);
    if (trainer === undefined) {
      trainer = new OnnxTrainer(setupFor(net), { provider, threads: 2 });
      trainers.set(net, trainer);
    }
    const { flat } = await trainer.computeGradients(syntheticImage(s, SIZE), [1, SIZE, SIZE, 3]);
    applyGradients(net, opt, unflattenTensors(flat, net.params));
  }
  after(async () => {
    for (const t of trainers.values()) await t.dispose();
  });

  const engines: { engine: "cpu" | "wasm" | "onnxruntime"; provider?: OrtProvider; skip?: string }[] = [
    { engine: "cpu" },
    { engine: "wasm" },
    ...ORT_TEST_PROVIDERS.map(({ provider, skip }) => ({
      engine: "onnxruntime" as const,
      provider,
      ...(skip === undefined ? {} : { skip }),
    })),
  ];
  for (const { engine, provider, skip } of engines) {
    const label = provider === undefined ? engine : `${engine} ${provider}`;
    it(`${K} + ${K} steps across a checkpoint = ${2 * K} steps straight (${label})`, { skip }, async () => {
      await onEngine(engine, provider);
      const straight = new TransformerNet({ seed: 5 });
      const straightOpt = new Adam(1e-3);
      for (let s = 0; s < 2 * K; s++) await step(engine, provider, straight, straightOpt, s);

      const first = new TransformerNet({ seed: 5 });
      const firstOpt = new Adam(1e-3);
      for (let s = 0; s < K; s++) await step(engine, provider, first, firstOpt, s);
      const store = new FileStore({ durable: false });
      const output = `${pathToFileURL(dir).href}/${label.replace(" ", "-")}/`;
      const uri = await saveCheckpoint(store, output, {
        step: K,
        attempt: 1,
        seed: 5,
        params: first.params,
        optimizer: firstOpt,
        cursor: null,
      });

      const resumed = new TransformerNet({ seed: 77 }); // different start: everything must come from the checkpoint
      const resumedOpt = new Adam(1e-3);
      const state = await loadCheckpoint(store, uri, resumed.params, resumedOpt);
      assert.equal(state.step, K);
      for (let s = K; s < 2 * K; s++) await step(engine, provider, resumed, resumedOpt, s);

      const a = await flattenTensors(straight.params);
      const b = await flattenTensors(resumed.params);
      assert.ok(
        Buffer.from(a.buffer).equals(Buffer.from(b.buffer)),
        "resumed weights differ from the uninterrupted run",
      );
      const untrained = await flattenTensors(new TransformerNet({ seed: 5 }).params);
      assert.ok(!Buffer.from(a.buffer).equals(Buffer.from(untrained.buffer)), "training changed nothing");
    });
  }
});
