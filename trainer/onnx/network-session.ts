// The transformation network with its current weights as an ONNX Runtime
// session (the exported model's graph, model/onnx/export.ts), for the
// onnxruntime engine's inference during training: the checkpoint previews.
// That engine's tfjs backend is the pure-JavaScript cpu one, on which one
// 256 px preview took about 30 s; this is a fraction of a second.
import * as ort from "onnxruntime-node";
import type { RgbImage } from "../../common/images/codec.js";
import { floatToRgb, rgbToFloat } from "../../common/images/codec.js";
import { ONNX_INPUT, ONNX_OUTPUT, transformerNetOnnx } from "../../model/onnx/export.js";
import type { TransformerNet } from "../../model/transformer-net.js";
import { sessionOptions, type OnnxTrainerOptions } from "./onnx-trainer.js";

/** NHWC RGB bytes → NCHW float32 in [0, 255], the exported model's input layout. */
function toNchw(rgb: RgbImage): Float32Array {
  const hwc = rgbToFloat(rgb);
  const plane = rgb.width * rgb.height;
  const out = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) out[c * plane + i] = hwc[i * 3 + c]!;
  return out;
}

function fromNchw(chw: Float32Array, width: number, height: number): RgbImage {
  const plane = width * height;
  const hwc = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) hwc[i * 3 + c] = chw[c * plane + i]!;
  return floatToRgb(hwc, width, height);
}

export class NetworkSession {
  private constructor(private readonly session: ort.InferenceSession) {}

  /** A session of the network as its weights are now (a snapshot: later updates are not seen). */
  static async snapshot(net: TransformerNet, options: OnnxTrainerOptions): Promise<NetworkSession> {
    const weights = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, t] of [...net.params, ...net.buffers]) {
      weights.set(name, { shape: [...t.shape], data: (await t.data()) as Float32Array });
    }
    const bytes = transformerNetOnnx({
      normalization: net.options.normalization,
      upsampling: net.options.upsampling,
      weights,
      producerVersion: "training-snapshot",
    });
    const session = await ort.InferenceSession.create(bytes, sessionOptions(options));
    return new NetworkSession(session);
  }

  /** One photo through the network (inference mode), sides multiples of 4. */
  async stylise(rgb: RgbImage): Promise<RgbImage> {
    const input = new ort.Tensor("float32", toNchw(rgb), [1, 3, rgb.height, rgb.width]);
    const results = await this.session.run({ [ONNX_INPUT]: input });
    const out = results[ONNX_OUTPUT]!;
    try {
      return fromNchw(out.data as Float32Array, rgb.width, rgb.height);
    } finally {
      out.dispose();
    }
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
