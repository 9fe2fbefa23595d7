// The onnxruntime engine's step: one ONNX Runtime session per (batch, height,
// width) runs the whole training-step graph (training-graph.ts) and returns
// the loss terms and the flat gradient, laid out like the parameters
// (model/parameters.ts), ready for the reducer. No per-op dispatch
// from JavaScript: one session.run per step. VGG-16's weights and the style
// targets are initialisers inside the session; the network's weights are
// bound as inputs each step (Adam updates them in JavaScript, bit-exact and
// checkpointed, see docs/onnx-training.md).
import { readdir } from "node:fs/promises";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { createLogger } from "../../common/log/logger.js";
import {
  CAFFE_MEAN_BGR,
  TORCH_MEAN_RGB,
  TORCH_STD_RGB,
  VGG16_CONVS,
  type Vgg16,
} from "../loss-network/vgg16.js";
import type { LossValues } from "../losses/index.js";
import { BATCH_NORM_MOMENTUM } from "../../model/architecture.js";
import { countParameters } from "../../model/parameters.js";
import type { OrtProvider } from "../../model/onnx/providers.js";
import type { TrainStepSetup } from "../train-step.js";
import type { PoolIndices, VggConvData, VggInputAffine } from "./loss-graph.js";
import { fromOnnxKernel, onnxKernelShape, toFlippedOnnxKernel, toOnnxKernel } from "./kernel-layout.js";
import {
  batchMeanOutput,
  batchVarianceOutput,
  buildTrainingGraph,
  CONTENT_INPUT,
  gradientOutput,
  LOSS_OUTPUTS,
  type TrainingGraph,
} from "./training-graph.js";

const log = createLogger("trainer.onnx");

export type { OrtProvider } from "../../model/onnx/providers.js";

export interface OnnxTrainerOptions {
  provider: OrtProvider;
  /** Intra-op threads of the CPU EP (and of CPU fallbacks). */
  threads: number;
  /** Where ONNX Runtime writes its per-node profile (JSON, prefix + timestamp); off when unset. */
  profileFilePrefix?: string;
}

/**
 * VGG-16's weights for the graph, with the input convention folded in:
 * caffe (BGR, minus the BGR mean) becomes RGB minus the mean in RGB order,
 * with conv1_1's input channels reversed; torch ((x/255 − mean)/std)
 * becomes x·(1/(255·std)) − mean/std.
 */
export async function vggGraphData(vgg: Vgg16): Promise<{ convs: VggConvData[]; affine: VggInputAffine }> {
  const caffe = vgg.source.convention === "caffe";
  const convs: VggConvData[] = [];
  for (const spec of VGG16_CONVS) {
    const { kernel, bias } = vgg.conv(spec.name);
    convs.push({
      name: spec.name,
      relu: spec.name.replace("conv", "relu") as VggConvData["relu"],
      block: spec.block,
      kernel: toOnnxKernel(
        (await kernel.data()) as Float32Array,
        kernel.shape,
        new Float32Array(kernel.size),
        caffe && spec.name === "conv1_1",
      ),
      kernelShape: [spec.outChannels, spec.inChannels, 3, 3],
      bias: Float32Array.from((await bias.data()) as Float32Array),
    });
  }
  const affine: VggInputAffine = caffe
    ? { scale: [1, 1, 1], shift: [-CAFFE_MEAN_BGR[2], -CAFFE_MEAN_BGR[1], -CAFFE_MEAN_BGR[0]] }
    : {
        scale: [0, 1, 2].map((c) => 1 / (255 * TORCH_STD_RGB[c]!)) as [number, number, number],
        shift: [0, 1, 2].map((c) => -TORCH_MEAN_RGB[c]! / TORCH_STD_RGB[c]!) as [number, number, number],
      };
  return { convs, affine };
}

/**
 * How a graph for `provider` takes max-pool gradients: ONNX Runtime's WebGPU
 * provider claims MaxPool with an indices output but fails when running it
 * ("The Indices output is not supported yet", onnxruntime-node 1.30), so
 * its graphs find each window's maximum with ArgMax instead.
 */
export function poolIndicesFor(provider: OrtProvider): PoolIndices {
  return provider === "webgpu" ? "window-argmax" : "indices";
}

/** The session options of every ONNX Runtime session the onnxruntime engine creates. */
export function sessionOptions(options: OnnxTrainerOptions): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [options.provider],
    graphOptimizationLevel: "all",
    intraOpNumThreads: options.threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    ...(options.profileFilePrefix !== undefined
      ? { enableProfiling: true, profileFilePrefix: options.profileFilePrefix }
      : {}),
  };
}

export interface OnnxStepResult {
  loss: LossValues;
  /** Gradients of every parameter, concatenated in the network's order. */
  flat: Float32Array;
}

export class OnnxTrainer {
  private readonly sessions = new Map<
    string,
    Promise<{ session: ort.InferenceSession; graph: TrainingGraph }>
  >();
  private vggData: Promise<{ convs: VggConvData[]; affine: VggInputAffine }> | undefined;
  /** The kernels in ONNX's layout fed each step, one buffer per input, reused. */
  private readonly kernelBuffers = new Map<string, Float32Array>();

  constructor(
    readonly setup: TrainStepSetup,
    readonly options: OnnxTrainerOptions,
  ) {}

  private async session(batch: number, height: number, width: number) {
    const key = `${batch}x${height}x${width}`;
    let entry = this.sessions.get(key);
    if (entry === undefined) {
      entry = this.createSession(batch, height, width);
      this.sessions.set(key, entry);
      entry.catch(() => this.sessions.delete(key));
    }
    return entry;
  }

  private async createSession(batch: number, height: number, width: number) {
    const started = performance.now();
    this.vggData ??= vggGraphData(this.setup.vgg);
    const { net, styleTargets, layers, weights } = this.setup;
    const targets = new Map<(typeof layers.style)[number], { data: Float32Array; channels: number }>();
    for (const [layer, t] of styleTargets) {
      targets.set(layer, { data: Float32Array.from((await t.data()) as Float32Array), channels: t.shape[1] });
    }
    const graph = buildTrainingGraph({
      batch,
      height,
      width,
      normalization: net.options.normalization,
      upsampling: net.options.upsampling,
      parameters: [...net.params].map(([name, v]) => ({ name, shape: v.shape })),
      vgg: await this.vggData,
      styleTargets: targets,
      layers,
      weights,
      pools: poolIndicesFor(this.options.provider),
    });
    const session = await ort.InferenceSession.create(graph.bytes, sessionOptions(this.options));
    log.info(
      {
        provider: this.options.provider,
        threads: this.options.threads,
        shape: [batch, height, width],
        nodes: graph.nodes,
        megabytes: Math.round(graph.bytes.length / 1e5) / 10,
        ms: Math.round(performance.now() - started),
      },
      "training-step session created",
    );
    return { session, graph };
  }

  /**
   * Loss and gradients of one batch (NHWC RGB in [0, 255]), with the
   * network's current weights; batch norm's running statistics are updated
   * as the tfjs network does in a training forward pass.
   */
  async computeGradients(
    content: Float32Array,
    shape: readonly [number, number, number, number],
  ): Promise<OnnxStepResult> {
    const [n, h, w, c] = shape;
    if (c !== 3) throw new Error(`onnxruntime step: content must have 3 channels, got ${c}`);
    const { session, graph } = await this.session(n, h, w);
    const { net } = this.setup;
    const feeds: Record<string, ort.Tensor> = {
      [CONTENT_INPUT]: new ort.Tensor("float32", content, [...shape]),
    };
    const values = new Map<string, Float32Array>();
    for (const [name, v] of net.params) {
      const data = (await v.data()) as Float32Array;
      values.set(name, data);
      feeds[name] =
        v.rank === 4
          ? new ort.Tensor(
              "float32",
              toOnnxKernel(data, v.shape, this.buffer(name, v.size)),
              onnxKernelShape(v.shape),
            )
          : new ort.Tensor("float32", data, v.shape);
    }
    for (const { parameter, input } of graph.flippedKernels) {
      const v = net.params.get(parameter)!;
      const [o, i, kh, kw] = onnxKernelShape(v.shape);
      const data = toFlippedOnnxKernel(values.get(parameter)!, v.shape, this.buffer(input, v.size));
      feeds[input] = new ort.Tensor("float32", data, [i, o, kh, kw]);
    }
    const results = await session.run(feeds);
    const scalar = (name: string) => (results[name]?.data as Float32Array | undefined)?.[0] ?? NaN;
    const loss: LossValues = {
      total: scalar(LOSS_OUTPUTS.total),
      content: scalar(LOSS_OUTPUTS.content),
      style: scalar(LOSS_OUTPUTS.style),
      tv: scalar(LOSS_OUTPUTS.tv),
    };
    const flat = new Float32Array(countParameters(net.params));
    let offset = 0;
    for (const [name, v] of net.params) {
      const grad = results[gradientOutput(name)]?.data as Float32Array | undefined;
      if (grad === undefined || grad.length !== v.size)
        throw new Error(`onnxruntime step: no gradient for ${name}`);
      if (v.rank === 4) fromOnnxKernel(grad, v.shape, flat, offset);
      else flat.set(grad, offset);
      offset += v.size;
    }
    for (const s of graph.batchStatistics) {
      const mean = results[batchMeanOutput(s.layer)]?.data as Float32Array;
      const variance = results[batchVarianceOutput(s.layer)]?.data as Float32Array;
      this.updateRunningStatistics(s.layer, mean, variance, s.count);
    }
    for (const t of Object.values(results)) t.dispose();
    return { loss, flat };
  }

  /** The buffer of a kernel input, reused every step (steps run one at a time). */
  private buffer(input: string, size: number): Float32Array {
    let b = this.kernelBuffers.get(input);
    if (b === undefined) {
      b = new Float32Array(size);
      this.kernelBuffers.set(input, b);
    }
    return b;
  }

  /** Batch norm's exponential moving averages, the same tfjs arithmetic as model/layers.ts. */
  private updateRunningStatistics(
    layer: string,
    mean: Float32Array,
    variance: Float32Array,
    count: number,
  ): void {
    const rm = this.setup.net.buffers.get(`${layer}.runningMean`);
    const rv = this.setup.net.buffers.get(`${layer}.runningVar`);
    if (rm === undefined || rv === undefined) throw new Error(`no running statistics for ${layer}`);
    const m = BATCH_NORM_MOMENTUM;
    const unbiased = count > 1 ? count / (count - 1) : 1;
    tf.tidy(() => {
      rm.assign(tf.add(tf.mul(rm, 1 - m), tf.mul(tf.tensor(mean, rm.shape), m)));
      rv.assign(tf.add(tf.mul(rv, 1 - m), tf.mul(tf.tensor(variance, rv.shape), m * unbiased)));
    });
  }

  /**
   * Ends ONNX Runtime's profiling of every session (see profileFilePrefix)
   * and returns the profile files it wrote, newest last.
   */
  async endProfiling(): Promise<string[]> {
    const prefix = this.options.profileFilePrefix;
    if (prefix === undefined) return [];
    for (const entry of this.sessions.values()) (await entry).session.endProfiling();
    const dir = path.dirname(prefix);
    const stem = path.basename(prefix);
    return (await readdir(dir))
      .filter((f) => f.startsWith(stem) && f.endsWith(".json"))
      .sort()
      .map((f) => path.join(dir, f));
  }

  async dispose(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    for (const entry of all) await (await entry.catch(() => undefined))?.session.release();
  }
}
