// The style targets G(y_s) (eq. 3) computed by ONNX Runtime, for the
// onnxruntime engine. That engine keeps only Adam on tfjs's pure-JavaScript
// cpu backend, where one VGG-16 pass over a 512 px style image takes minutes;
// here it is one session run of the same loss-network graph the training
// step uses, on the same provider.
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { GraphBuilder } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";
import { serializeModel } from "../../model/onnx/serialize.js";
import type { Vgg16, VggLayer } from "../loss-network/vgg16.js";
import type { StyleTargets } from "../losses/style-reconstruction.js";
import { addVggWeights, gramMatrix, vggConvsUpTo, vggFeatures } from "./loss-graph.js";
import { sessionOptions, vggGraphData, type OnnxTrainerOptions } from "./onnx-trainer.js";

const STYLE_INPUT = "style";
const targetOutput = (layer: VggLayer): string => `gram/${layer}`;

/** One graph: RGB NHWC [1, h, w, 3] in [0, 255] → the Gram matrix of each style layer. */
async function styleTargetGraph(vgg: Vgg16, height: number, width: number, layers: readonly VggLayer[]) {
  const g = new GraphBuilder("stylekube_style_targets");
  const nhwc = g.input(STYLE_INPUT, [1, height, width, 3]);
  const rgb = ops.transpose(g, nhwc, [0, 3, 1, 2]);
  const { convs, affine } = await vggGraphData(vgg);
  const used = vggConvsUpTo(convs, layers);
  const phi = vggFeatures(g, rgb, used, addVggWeights(g, used), affine, layers, "none");
  for (const layer of layers) g.namedOutput(gramMatrix(g, phi.get(layer)!), targetOutput(layer));
  return serializeModel(g, { producer: "stylekube-trainer", producerVersion: "1" });
}

/**
 * G(y_s) at every style layer for one style image (NHWC, batch 1, RGB in
 * [0, 255]), as tfjs tensors [1, C, C] like computeStyleTargets returns.
 */
export async function computeStyleTargetsOnnx(
  vgg: Vgg16,
  styleImage: { data: Float32Array; height: number; width: number },
  layers: readonly VggLayer[],
  options: OnnxTrainerOptions,
): Promise<StyleTargets> {
  const { data, height, width } = styleImage;
  const session = await ort.InferenceSession.create(
    await styleTargetGraph(vgg, height, width, layers),
    sessionOptions(options),
  );
  try {
    const results = await session.run({
      [STYLE_INPUT]: new ort.Tensor("float32", data, [1, height, width, 3]),
    });
    const targets: StyleTargets = new Map();
    for (const layer of layers) {
      const gram = results[targetOutput(layer)];
      if (gram === undefined) throw new Error(`style targets: no Gram matrix for ${layer}`);
      const [, c] = gram.dims;
      targets.set(layer, tf.tensor3d(Float32Array.from(gram.data as Float32Array), [1, c!, c!]));
      gram.dispose();
    }
    return targets;
  } finally {
    await session.release();
  }
}
