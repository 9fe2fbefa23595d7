// The step on the onnxruntime engine: the whole step (forward, losses,
// backward) is one ONNX Runtime session run (trainer/onnx/), and so are the
// style targets and the previews: its tfjs backend is the pure-JavaScript cpu
// one, which only runs Adam (a 512 px style image took it more than 10
// minutes, a 256 px preview ≈30 s).
import { NetworkSession } from "../onnx/network-session.js";
import { OnnxTrainer, type OnnxTrainerOptions } from "../onnx/onnx-trainer.js";
import { computeStyleTargetsOnnx } from "../onnx/style-targets.js";
import { writeCheckpointPreviews } from "../previews/write-previews.js";
import type { StepEngine } from "./step-engine.js";

export function onnxStepEngine(options: Pick<OnnxTrainerOptions, "provider" | "threads">): StepEngine {
  return {
    styleTargets: (vgg, image, layers) => computeStyleTargetsOnnx(vgg, image, layers, options),
    gradientStep: (setup) => {
      const trainer = new OnnxTrainer(setup, options);
      return {
        computeGradients: (batch) => trainer.computeGradients(batch.data, batch.shape),
        dispose: () => trainer.dispose(),
      };
    },
    writePreviews: async (store, output, net, photos, step) => {
      const session = await NetworkSession.snapshot(net, options);
      try {
        return await writeCheckpointPreviews(store, output, net, photos, step, (rgb) => session.stylise(rgb));
      } finally {
        await session.release();
      }
    },
  };
}
