// A trained transformation network as a self-contained ONNX model for any
// ONNX runtime (ONNX Runtime, Triton, KServe): weights as initialisers, input
// NCHW float32 RGB in [0, 255] with dynamic batch, height and width (multiples
// of 4), output the stylised image in the same layout and range.
import { GraphBuilder, OPSET } from "./graph.js";
import { serializeModel } from "./serialize.js";
import type { Normalization, Upsampling } from "../architecture.js";
import { appendTransformerNet } from "./transformer-net-graph.js";

export const ONNX_FILE = "model.onnx";
export const ONNX_INPUT = "images";
export const ONNX_OUTPUT = "stylized";
export { OPSET as ONNX_OPSET };

export interface NamedWeights {
  shape: readonly number[];
  data: Float32Array;
}

export interface OnnxExportInput {
  normalization: Normalization;
  upsampling: Upsampling;
  /** Every parameter and buffer by name, in the tfjs network's layouts. */
  weights: ReadonlyMap<string, NamedWeights>;
  producerVersion: string;
  /** Stored in the model's metadata_props (style, trained steps, …). */
  properties?: Record<string, string>;
}

export function transformerNetOnnx(input: OnnxExportInput): Uint8Array {
  const g = new GraphBuilder("stylekube_transformer_net");
  const images = g.input(ONNX_INPUT, ["batch", 3, "height", "width"]);
  const used = new Set<string>();
  const param = (name: string): string => {
    const w = input.weights.get(name);
    if (w === undefined) throw new Error(`ONNX export: no weights for ${name}`);
    if (!used.has(name)) {
      used.add(name);
      g.initializer(name, w.data, w.shape);
    }
    return name;
  };
  const { output } = appendTransformerNet(g, images, param, {
    normalization: input.normalization,
    upsampling: input.upsampling,
    training: false,
  });
  g.namedOutput(output, ONNX_OUTPUT, ["batch", 3, "height", "width"]);
  const unused = [...input.weights.keys()].filter((n) => !used.has(n));
  if (unused.length > 0) throw new Error(`ONNX export: weights not in the network: ${unused.join(", ")}`);
  return serializeModel(g, {
    producer: "stylekube",
    producerVersion: input.producerVersion,
    docString:
      "Johnson et al. 2016 fast style transfer. Input images: float32 NCHW RGB in [0, 255], H and W multiples of 4. Output stylized: same shape and range.",
    properties: input.properties,
  });
}
