// Cross-engine checks: the wasm engine's training kernels (trainer/engine/
// wasm-kernels.ts) and, where a GPU is present, the webgpu engine's
// (webgpu-kernels.ts) against the cpu reference, kernel by kernel and on
// whole training steps (loss and every parameter gradient). Without a
// WebGPU adapter (no GPU, as on CI) the webgpu suite is skipped with Dawn's
// reason; `npm run bench -- train-step` runs where a GPU is.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { type ConcreteEngine, initEngine } from "../../../trainer/engine/engines.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import type { Vgg16 } from "../../../trainer/loss-network/vgg16.js";
import { computeStyleTargets, disposeStyleTargets, gramMatrix } from "../../../trainer/losses/index.js";
import {
  Norm,
  ParameterBuilder,
  ReflectConv,
  ResidualBlock,
  TransposeConv,
  UpsampleConv,
  upsampleNearest2x,
} from "../../../model/layers.js";
import { TransformerNet, type TransformerNetOptions } from "../../../model/transformer-net.js";
import { computeGradients, type TrainStepSetup } from "../../../trainer/train-step.js";
import { CONV_CASES, det } from "../../support/conv-cases.js";

/**
 * Tolerances, as max |engine − cpu| / max |cpu| per tensor. All engines
 * compute in float32 but sum in different orders (XNNPACK's GEMM tiles or
 * GPU workgroup tiles vs the cpu backend's loops), so single kernels agree to ~1e-6 and a whole
 * step (two dozen convs deep, through normalisations and Gram matrices) to
 * ~2e-3 on the worst of 62 gradients (measured on wasm: 1.7e-3, 2.7e-3); the bounds
 * leave headroom for other seeds and sizes without hiding a wrong index,
 * which shows up as O(1).
 */
const KERNEL_TOLERANCE = 1e-5;
const STEP_TOLERANCE = 1e-2;
/**
 * The webgpu engine's whole-step bound. Measured on an NVIDIA H200
 * (2026-11-27): the worst of 62 gradients is conv1.norm.beta at 1.06e-2 in
 * the instance-norm / upsample-conv network (next: conv1.conv.weight
 * 4.3e-3; everything else ≤ 5.4e-4), and 1.3e-4 in the batch-norm /
 * transpose one. tfjs's stock webgpu kernels give the identical 1.06e-2, so
 * it is the backend's float32 arithmetic on that path, not our kernels;
 * every single-kernel check stays under KERNEL_TOLERANCE.
 */
const WEBGPU_STEP_TOLERANCE = 2e-2;
const LOSS_TOLERANCE = 1e-4;
/** Scale floor for a gradient, as a fraction of the largest gradient value of the network (see relErr). */
const GRADIENT_FLOOR = 1e-3;

/**
 * Reads tensors back and disposes them. Asynchronously: the webgpu backend's
 * synchronous read needs OffscreenCanvas, which Node does not have.
 */
async function read(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  const values = await Promise.all(tensors.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([...tensors]);
  return values;
}

function maxAbs(arrays: readonly ArrayLike<number>[]): number {
  let m = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] as number));
  return m;
}

/**
 * max |got − want| / max(max |want|, floor). The floor is for tensors that
 * are zero in exact arithmetic, where both engines return rounding noise:
 * the bias of a conv followed by instance or batch norm (the normalisation
 * subtracts it again) has gradient 0, and its float32 value is ~1e-8 of
 * the network's gradients on either engine, in different digits.
 */
function relErr(got: ArrayLike<number>, want: ArrayLike<number>, floor = 0): number {
  assert.equal(got.length, want.length, "lengths differ");
  let diff = 0;
  let scale = floor;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs((got[i] as number) - (want[i] as number)));
    scale = Math.max(scale, Math.abs(want[i] as number));
  }
  return diff / Math.max(scale, 1e-30);
}

/** Why `engine` cannot run here, or undefined when it can. */
async function unavailable(engine: ConcreteEngine): Promise<string | undefined> {
  try {
    await initEngine(engine);
    return undefined;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  } finally {
    await initEngine("cpu");
  }
}

const SUITES: { engine: ConcreteEngine; skip: string | undefined }[] = [
  // wasm runs everywhere: a failure to start is a failure, not a skip.
  { engine: "wasm", skip: undefined },
  { engine: "webgpu", skip: await unavailable("webgpu") },
];

for (const { engine, skip } of SUITES) {
  const stepTolerance = engine === "webgpu" ? WEBGPU_STEP_TOLERANCE : STEP_TOLERANCE;
  describe(`${engine} engine matches cpu`, { skip }, () => {
    /** Runs f on cpu and on the engine under test. */
    async function onBoth<T>(f: () => T | Promise<T>): Promise<{ cpu: T; tested: T }> {
      await initEngine("cpu");
      const cpu = await f();
      await initEngine(engine);
      const tested = await f();
      await initEngine("cpu");
      return { cpu, tested };
    }

    before(async () => {
      await initEngine(engine);
      await initEngine("cpu");
    });
    after(async () => {
      await initEngine("cpu");
    });

    it(`the ${engine} engine can train and replaced the slow and missing kernels`, async () => {
      const info = await initEngine(engine);
      assert.equal(info.canTrain, true);
      assert.deepEqual(info.missingTrainingKernels, []);
      assert.ok(tf.getKernel("Conv2DBackpropFilter", engine), "Conv2DBackpropFilter registered");
      await initEngine("cpu");
    });

    it("conv2d, its input gradient and its filter gradient (strides 1–3, all paddings, 1×1 … 9×9)", async () => {
      for (const c of CONV_CASES) {
        const r = await onBoth(() =>
          read(
            tf.tidy(() => {
              const x = det(c.x, 1) as tf.Tensor4D;
              const f = det(c.f, 2) as tf.Tensor4D;
              const conv = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
                tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.s, c.pad);
              const y = conv(x, f);
              const [dx, df] = tf.grads(conv)([x, f], det(y.shape, 3));
              return [y, dx, df] as tf.Tensor[];
            }),
          ),
        );
        ["y", "dx", "dW"].forEach((name, i) => {
          const e = relErr(r.tested[i] as Float32Array, r.cpu[i] as Float32Array);
          assert.ok(e < KERNEL_TOLERANCE, `${JSON.stringify(c)} ${name}: relative error ${e}`);
        });
      }
    });

    it("conv2dTranspose (Conv2DBackpropInput forward) and its gradients", async () => {
      for (const [h, cin, cout, k] of [
        [5, 6, 4, 3],
        [4, 3, 8, 4],
      ] as const) {
        const r = await onBoth(() =>
          read(
            tf.tidy(() => {
              const x = det([2, h, h, cin], 4) as tf.Tensor4D;
              const f = det([k, k, cout, cin], 5) as tf.Tensor4D;
              const up = (a: tf.Tensor, b: tf.Tensor): tf.Tensor =>
                tf.conv2dTranspose(a as tf.Tensor4D, b as tf.Tensor4D, [2, 2 * h, 2 * h, cout], 2, "same");
              const y = up(x, f);
              const [dx, df] = tf.grads(up)([x, f], det(y.shape, 6));
              return [y, dx, df] as tf.Tensor[];
            }),
          ),
        );
        for (let i = 0; i < 3; i++) {
          const e = relErr(r.tested[i] as Float32Array, r.cpu[i] as Float32Array);
          assert.ok(e < KERNEL_TOLERANCE, `transpose conv ${h}/${cin}/${cout}/${k} output ${i}: ${e}`);
        }
      }
    });

    it("the network's other layers and their gradients, one at a time", async () => {
      // Each case: a function of x (and of parameters made inside it), compared
      // on its output and on the gradient of Σ f(x)·w with respect to x. They
      // narrow down a whole-step mismatch to one kind of kernel.
      const b = new ParameterBuilder(11, "layers/");
      const instance = new Norm(b, "in", "instance", 6);
      const batch = new Norm(b, "bn", "batch", 6);
      const cases: [string, (x: tf.Tensor4D) => tf.Tensor][] = [
        ["instance norm", (x) => instance.apply(x, { training: true })],
        ["batch norm (training)", (x) => batch.apply(x, { training: true })],
        ["moments over H, W", (x) => tf.moments(x, [1, 2], true).variance],
        ["×2 nearest upsampling", (x) => upsampleNearest2x(x)],
        [
          "reflection padding",
          (x) =>
            tf.mirrorPad(
              x,
              [
                [0, 0],
                [4, 4],
                [4, 4],
                [0, 0],
              ],
              "reflect",
            ),
        ],
        ["2×2 max pooling", (x) => tf.maxPool(x, 2, 2, "valid")],
        ["scaled tanh", (x) => tf.mul(tf.add(tf.tanh(x), 1), 127.5)],
        ["relu", (x) => tf.relu(x)],
        ["mean and sum", (x) => tf.add(tf.mean(tf.square(x)), tf.sum(x, [1, 2]))],
      ];
      for (const [name, f] of cases) {
        const r = await onBoth(() =>
          read(
            tf.tidy(() => {
              const x = tf.mul(det([2, 12, 10, 6], 21), 3) as tf.Tensor4D;
              const y = f(x);
              const w = det(y.shape, 22);
              const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.mul(f(xx as tf.Tensor4D), w)))(x);
              return [y, dx];
            }),
          ),
        );
        ["output", "gradient"].forEach((what, i) => {
          const e = relErr(r.tested[i] as Float32Array, r.cpu[i] as Float32Array);
          assert.ok(e < KERNEL_TOLERANCE * 10, `${name} ${what}: relative error ${e}`);
        });
      }
      for (const v of [...b.params.values(), ...b.buffers.values()]) v.dispose();
    });

    it("batched and transposed matMul (the Gram matrix and its gradients)", async () => {
      const cases: [number[], number[], boolean, boolean][] = [
        [[2, 50, 7], [2, 50, 9], true, false],
        [[3, 6, 40], [3, 8, 40], false, true],
        [[2, 9, 7], [2, 8, 9], true, true],
        [[1, 30, 6], [4, 30, 5], true, false],
        [[4, 6, 30], [1, 5, 30], false, true],
        [[2, 3, 6, 5], [2, 3, 5, 4], false, false],
        [[6, 5], [5, 4], false, false],
      ];
      for (const [sa, sb, ta, tb] of cases) {
        const r = await onBoth(async () => {
          const [v] = await read([tf.tidy(() => tf.matMul(det(sa, 7), det(sb, 8), ta, tb))]);
          return v as Float32Array;
        });
        const e = relErr(r.tested, r.cpu);
        assert.ok(e < KERNEL_TOLERANCE, `matMul ${JSON.stringify([sa, sb, ta, tb])}: ${e}`);
      }
    });

    it("a small network of every layer type: loss and every gradient", async () => {
      const b = new ParameterBuilder(3, "small-net/");
      const layers = [
        new ReflectConv(b, "c1", 3, 6, 5, 1),
        new Norm(b, "n1", "instance", 6),
        new ReflectConv(b, "c2", 6, 8, 3, 2),
        new Norm(b, "n2", "batch", 8),
        new ResidualBlock(b, "r", 8, "instance"),
        new TransposeConv(b, "t", 8, 5, 3),
        new UpsampleConv(b, "u", 5, 4, 3),
        new ReflectConv(b, "out", 4, 3, 3, 1),
      ];
      const params = [...b.params.values()];
      const loss = (x: tf.Tensor4D): tf.Scalar => {
        let h = x;
        for (const l of layers) h = tf.relu(l.apply(h, { training: true }));
        // A Gram term (batched, transposed matMul) plus a plain one.
        const g = gramMatrix(h);
        return tf.add(tf.mean(tf.square(g)), tf.mean(tf.square(tf.sub(h, 0.5))));
      };
      const r = await onBoth(async () => {
        const x = det([2, 12, 12, 3], 9) as tf.Tensor4D;
        const { value, grads } = tf.variableGrads(() => loss(x), params);
        const [lossValue, ...gradValues] = await read([
          value,
          ...params.map((p) => grads[p.name] as tf.Tensor),
        ]);
        x.dispose();
        return { loss: (lossValue as Float32Array)[0] as number, grads: gradValues };
      });
      assert.ok(
        Math.abs(r.tested.loss - r.cpu.loss) <= LOSS_TOLERANCE * Math.abs(r.cpu.loss),
        `loss ${r.tested.loss} vs ${r.cpu.loss}`,
      );
      const floor = GRADIENT_FLOOR * maxAbs(r.cpu.grads);
      params.forEach((p, i) => {
        const e = relErr(r.tested.grads[i] as Float32Array, r.cpu.grads[i] as Float32Array, floor);
        assert.ok(e < stepTolerance, `gradient of ${p.name}: relative error ${e}`);
      });
      for (const p of params) p.dispose();
      for (const v of b.buffers.values()) v.dispose();
    });

    describe("the real architecture (TransformerNet + VGG-16, 24×24, batch 2)", () => {
      for (const options of [
        { normalization: "instance", upsampling: "upsample-conv" },
        { normalization: "batch", upsampling: "transpose" },
      ] satisfies TransformerNetOptions[]) {
        it(`${options.normalization} norm, ${options.upsampling}: every loss term and every gradient`, async (t) => {
          const net = new TransformerNet({ ...options, seed: 2 });
          const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } as const;
          const r = await onBoth(async () => {
            // One loss network per engine (same seeded weights): a tensor that
            // moved to the webgpu backend cannot be read back synchronously by
            // a cpu kernel afterwards.
            const vgg: Vgg16 = await loadVgg16({ random: true, seed: 5 });
            const style = tf.tidy(() => tf.mul(tf.add(det([1, 28, 20, 3], 11), 1), 127.5) as tf.Tensor4D);
            const content = tf.tidy(() => tf.mul(tf.add(det([2, 24, 24, 3], 12), 1), 127.5) as tf.Tensor4D);
            const styleTargets = computeStyleTargets(vgg, style, layers.style);
            const setup: TrainStepSetup = {
              net,
              vgg,
              styleTargets,
              layers,
              weights: { content: 1, style: 5, tv: 1e-6 },
            };
            const started = performance.now();
            const { loss, grads } = await computeGradients(setup, content);
            const ms = performance.now() - started;
            const out = { loss, ms, grads: await read([...grads.values()]) };
            tf.dispose([style, content]);
            disposeStyleTargets(styleTargets);
            vgg.dispose();
            return out;
          });
          t.diagnostic(
            `cpu ${r.cpu.ms.toFixed(0)} ms, ${engine} ${r.tested.ms.toFixed(0)} ms per gradient computation`,
          );
          for (const term of ["total", "content", "style", "tv"] as const) {
            const w = r.tested.loss[term];
            const c = r.cpu.loss[term];
            assert.ok(Math.abs(w - c) <= LOSS_TOLERANCE * Math.abs(c), `${term} loss ${w} vs ${c}`);
          }
          const names = [...net.params.keys()];
          const floor = GRADIENT_FLOOR * maxAbs(r.cpu.grads);
          const errors = names
            .map((name, i) => ({
              name,
              e: relErr(r.tested.grads[i] as Float32Array, r.cpu.grads[i] as Float32Array, floor),
            }))
            .sort((a, b) => b.e - a.e);
          t.diagnostic(
            `${names.length} gradients, worst relative errors ${errors
              .slice(0, 4)
              .map(({ name, e }) => `${name} ${e.toExponential(2)}`)
              .join(", ")}`,
          );
          for (const { name, e } of errors) {
            assert.ok(e < stepTolerance, `gradient of ${name}: relative error ${e}`);
          }
          net.dispose();
        });
      }
    });
  });
}
