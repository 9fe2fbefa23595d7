import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { initEngine } from "../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import { computeStyleTargets, disposeStyleTargets } from "../../../trainer/losses/index.js";
import { flattenTensors } from "../../../model/parameters.js";
import { transformerNetParameterCount } from "../../../model/architecture.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import {
  computeGradients,
  createOptimizer,
  type TrainStepSetup,
  trainStep,
} from "../../../trainer/train-step.js";

describe("train step", () => {
  before(async () => {
    await initEngine("cpu");
  });

  it("3 Adam steps (lr 1e-3) on one 32×32 image with a random VGG-16 lower the loss", async (t) => {
    const net = new TransformerNet({ seed: 1 });
    const vgg = await loadVgg16({ random: true, seed: 1 });
    const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } as const;
    // A style image of another size than the training images, as in a real job.
    const style = tf.randomUniform([1, 40, 24, 3], 0, 255, "float32", 11) as tf.Tensor4D;
    const styleTargets = computeStyleTargets(vgg, style, layers.style);
    const setup: TrainStepSetup = {
      net,
      vgg,
      styleTargets,
      layers,
      weights: { content: 1, style: 5, tv: 1e-6 },
    };
    const content = tf.randomUniform([1, 32, 32, 3], 0, 255, "float32", 21) as tf.Tensor4D;
    const optimizer = createOptimizer();
    const before = await flattenTensors(net.params);
    const tensorsBefore = tf.memory().numTensors;

    const losses = [];
    for (let i = 0; i < 3; i++) losses.push(await trainStep(setup, optimizer, content));
    // trainStep reports the loss before its update; measure after the third.
    const after = await computeGradients(setup, content);
    assert.equal(after.grads.size, net.params.size);
    assert.deepEqual([...after.grads.keys()], [...net.params.keys()], "gradients come in parameter order");
    assert.equal((await flattenTensors(after.grads)).length, transformerNetParameterCount());
    tf.dispose([...after.grads.values()]);

    for (const l of [...losses, after.loss]) {
      for (const v of Object.values(l)) assert.ok(Number.isFinite(v) && v >= 0, JSON.stringify(l));
      assert.ok(
        Math.abs(l.total - (l.content + 5 * l.style + 1e-6 * l.tv)) < 1e-3 * l.total,
        "total = λc·c + λs·s + λtv·tv",
      );
    }
    // Adam's first steps move every weight by about lr whatever its gradient,
    // so the loss need not fall at every step; after three it must be lower.
    const first = losses[0]?.total ?? NaN;
    t.diagnostic(`total loss: ${[...losses, after.loss].map((l) => l.total.toFixed(2)).join(" → ")}`);
    assert.ok(
      after.loss.total < first,
      `loss ${first} → ${losses
        .slice(1)
        .map((l) => l.total)
        .join(" → ")} → ${after.loss.total}`,
    );
    assert.notDeepEqual(await flattenTensors(net.params), before, "weights changed");
    // Only the optimizer's state may stay behind: its two flat moment vectors,
    // allocated on the first step.
    assert.ok(
      tf.memory().numTensors - tensorsBefore <= 2,
      `leaked ${tf.memory().numTensors - tensorsBefore} tensors`,
    );

    disposeStyleTargets(styleTargets);
    vgg.dispose();
    net.dispose();
    optimizer.dispose();
  });
});
