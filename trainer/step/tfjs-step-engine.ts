// The step on a tfjs engine (cpu, wasm, webgpu, tensorflow): tfjs's autodiff
// of the network and the losses, in passes where the engine cannot hold a
// whole batch's activations (wasm).
import * as tf from "@tensorflow/tfjs-core";
import { createLogger } from "../../common/log/logger.js";
import type { ConcreteEngine } from "../engine/engines.js";
import { computeStyleTargets } from "../losses/style-reconstruction.js";
import { flattenTensors } from "../../model/parameters.js";
import { writeCheckpointPreviews } from "../previews/write-previews.js";
import { computeGradientsInPasses, imagesPerPass } from "../train-step.js";
import type { StepEngine } from "./step-engine.js";

const log = createLogger("trainer.step");

export function tfjsStepEngine(engine: ConcreteEngine): StepEngine {
  return {
    styleTargets: async (vgg, image, layers) => {
      const styleImage = tf.tensor4d(image.data, [1, image.height, image.width, 3]);
      try {
        return computeStyleTargets(vgg, styleImage, layers);
      } finally {
        styleImage.dispose();
      }
    },
    gradientStep: (setup, { batchSize, imageSize }) => {
      // wasm cannot hold a large batch's activations at once: run it in passes.
      const perPass = imagesPerPass(engine, imageSize, batchSize);
      if (perPass < batchSize) log.info({ perPass, batchSize }, "batch runs in passes");
      return {
        computeGradients: async (batch) => {
          const content = tf.tensor4d(batch.data, batch.shape);
          try {
            const { loss, grads } = await computeGradientsInPasses(setup, content, perPass);
            const flat = await flattenTensors(grads);
            tf.dispose([...grads.values()]);
            return { loss, flat };
          } finally {
            content.dispose();
          }
        },
        dispose: async () => undefined,
      };
    },
    writePreviews: (store, output, net, photos, step) =>
      writeCheckpointPreviews(store, output, net, photos, step),
  };
}
