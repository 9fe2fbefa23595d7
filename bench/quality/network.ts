// The trained network's output for a held-out photo, timed. On the
// onnxruntime engine it runs as its exported ONNX model (what the model
// server runs), not on that engine's slow tfjs cpu backend; on the tfjs
// engines, as the tfjs network.
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { type ModelDescription, onnxModelFile } from "../../model/model-export.js";
import { ONNX_INPUT, ONNX_OUTPUT } from "../../model/onnx/export.js";
import type { NamedArray } from "../../model/parameters.js";
import type { TransformerNet } from "../../model/transformer-net.js";
import type { OnnxTrainerOptions } from "../../trainer/onnx/onnx-trainer.js";

export interface Stylizer {
  /** The network's output (NHWC RGB in [0, 255]) and the wall time of the forward pass. */
  stylize(content: tf.Tensor4D): Promise<{ output: tf.Tensor4D; seconds: number }>;
  dispose(): Promise<void>;
}

export async function networkStylizer(
  net: TransformerNet,
  description: ModelDescription,
  onnx: OnnxTrainerOptions | undefined,
): Promise<Stylizer> {
  if (onnx === undefined)
    return {
      async stylize(content) {
        const t0 = performance.now();
        const output = tf.tidy(() => net.apply(content, { training: false }));
        await output.data();
        return { output, seconds: (performance.now() - t0) / 1000 };
      },
      async dispose() {},
    };
  const session = await onnxNetworkSession(net, description, onnx);
  return {
    async stylize(content) {
      const t0 = performance.now();
      const output = await runOnnxNetwork(session, content);
      return { output, seconds: (performance.now() - t0) / 1000 };
    },
    dispose: () => session.release(),
  };
}

async function onnxNetworkSession(
  net: TransformerNet,
  description: ModelDescription,
  options: OnnxTrainerOptions,
): Promise<ort.InferenceSession> {
  const weights = new Map<string, NamedArray>();
  for (const [name, t] of [...net.params, ...net.buffers]) {
    weights.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array });
  }
  return ort.InferenceSession.create(onnxModelFile(description, weights).bytes, {
    executionProviders: [options.provider],
    intraOpNumThreads: options.threads,
  });
}

/** The network's output for NHWC content, through its ONNX model (NCHW in and out). */
async function runOnnxNetwork(session: ort.InferenceSession, content: tf.Tensor4D): Promise<tf.Tensor4D> {
  const nchw = tf.tidy(() => content.transpose([0, 3, 1, 2]));
  const results = await session.run({
    [ONNX_INPUT]: new ort.Tensor("float32", (await nchw.data()) as Float32Array, nchw.shape),
  });
  nchw.dispose();
  const out = results[ONNX_OUTPUT]!;
  const [n, c, h, w] = out.dims as number[];
  const nhwc = tf.tidy(() => tf.tensor4d(out.data as Float32Array, [n!, c!, h!, w!]).transpose([0, 2, 3, 1]));
  out.dispose();
  return nhwc as tf.Tensor4D;
}
