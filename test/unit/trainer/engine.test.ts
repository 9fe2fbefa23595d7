import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { stockConv2DBackpropFilter } from "../../../trainer/engine/cpu-kernels.js";
import {
  EngineUnavailableError,
  initEngine,
  ortProviderFromEnv,
  missingTrainingKernels,
  TRAINING_KERNELS,
} from "../../../trainer/engine/engines.js";
import { MIRROR_PAD_GRAD } from "../../../trainer/engine/mirror-pad-grad.js";
import { mirrorPadGrad } from "../../../trainer/engine/tfjs.js";
import { probeProvider } from "../../../model/onnx/providers.js";
import {
  adapterDescription,
  dawnAdapter,
  describeAdapter,
  installWebGpu,
} from "../../../model/engine/webgpu.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import { computeStyleTargets } from "../../../trainer/losses/index.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { createOptimizer, trainStep } from "../../../trainer/train-step.js";

describe("compute engines", () => {
  before(async () => {
    await initEngine("cpu");
  });

  it("cpu trains", async () => {
    const info = await initEngine("cpu");
    assert.deepEqual(info, { engine: "cpu", backend: "cpu", canTrain: true, missingTrainingKernels: [] });
    assert.equal(tf.getBackend(), "cpu");
  });

  it("wasm trains (its missing and slow gradient kernels are registered) and runs inference", async () => {
    const info = await initEngine("wasm");
    assert.equal(info.backend, "wasm");
    assert.equal(info.canTrain, true);
    assert.deepEqual(missingTrainingKernels("wasm"), []);
    assert.equal(info.threads, 1, "one XNNPACK thread unless STYLEKUBE_WASM_THREADS asks for more");
    const y = tf.conv2d(
      tf.ones([1, 4, 4, 1]) as tf.Tensor4D,
      tf.ones([3, 3, 1, 1]) as tf.Tensor4D,
      1,
      "same",
    );
    assert.deepEqual([...y.dataSync()], [4, 6, 6, 4, 6, 9, 9, 6, 6, 9, 9, 6, 4, 6, 6, 4]);
    await initEngine("cpu");
  });

  it("webgpu fails with a message saying what is missing, or names its adapter; tensorflow without tfjs-node fails", async () => {
    // Without a Vulkan driver Dawn finds no adapter; with one (a GPU, or
    // Mesa's lavapipe on a CPU machine) webgpu asked by name starts.
    let started = false;
    try {
      await initEngine("webgpu");
      started = true;
    } catch (err) {
      assert.ok(err instanceof EngineUnavailableError);
      assert.equal(err.engine, "webgpu");
      assert.match(
        err.message,
        /engine webgpu: (no WebGPU adapter found: .*libvulkan1.*VK_DRIVER_FILES.*Use engine wasm or cpu|the `webgpu` package .* could not be loaded)/,
      );
    }
    if (started) assert.equal(tf.getBackend(), "webgpu");
    await initEngine("cpu");
    await assert.rejects(initEngine("tensorflow"), /tfjs-node.*libtensorflow/);
  });

  it("a software (CPU-emulated) WebGPU adapter is recognised as one", () => {
    for (const info of [
      { vendor: "mesa", architecture: "", device: "", description: "llvmpipe (LLVM 19.1.7, 256 bits)" },
      { vendor: "google", description: "SwiftShader Device (Subzero)" },
      { vendor: "", description: "Vulkan lavapipe" },
      { vendor: "acme", description: "GPU 1", isFallbackAdapter: true },
    ]) {
      assert.equal(describeAdapter(info).software, true, JSON.stringify(info));
    }
    const h200 = describeAdapter({ vendor: "nvidia", architecture: "hopper", description: "NVIDIA H200" });
    assert.deepEqual(h200, { name: "nvidia / hopper / NVIDIA H200", software: false });
    assert.equal(describeAdapter({}).name, "unnamed adapter");
  });

  it("an adapter's description is read from Dawn's GPUAdapterInfo, whose fields are getters", async (t) => {
    // Like Dawn's object: nothing of its own to spread.
    class Info {
      get vendor() {
        return "mesa";
      }
      get description() {
        return "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)";
      }
      get isFallbackAdapter() {
        return false;
      }
    }
    assert.deepEqual(adapterDescription({ info: new Info() }), {
      vendor: "mesa",
      description: "llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)",
    });
    assert.equal(describeAdapter(adapterDescription({ info: new Info() })).software, true);
    assert.deepEqual(adapterDescription({ isFallbackAdapter: true }), { isFallbackAdapter: true });
    // And on this machine's Dawn, where it finds an adapter.
    const adapter = await dawnAdapter((s) => import(s) as Promise<unknown>).catch(() => undefined);
    if (adapter === undefined) {
      t.diagnostic("Dawn finds no adapter here");
      return;
    }
    assert.notEqual(adapter.name, "unnamed adapter");
    if (/llvmpipe|swiftshader/i.test(adapter.name)) assert.equal(adapter.software, true, adapter.name);
    t.diagnostic(`Dawn's adapter: ${adapter.name} (${adapter.software ? "software" : "hardware"})`);
  });

  it("auto picks the fastest engine that can train here, never a software WebGPU adapter", async () => {
    const adapter = await installWebGpu((s) => import(s) as Promise<unknown>).catch(() => undefined);
    const cuda = await probeProvider("cuda");
    const info = await initEngine("auto");
    assert.equal(info.canTrain, true);
    // ONNX Runtime's CUDA provider, else a hardware GPU; otherwise (no driver,
    // or only lavapipe/SwiftShader) ONNX Runtime on the CPU.
    if (cuda === undefined) assert.deepEqual([info.engine, info.provider], ["onnxruntime", "cuda"]);
    else if (adapter !== undefined && !adapter.software) assert.equal(info.engine, "webgpu");
    else assert.deepEqual([info.engine, info.provider, info.backend], ["onnxruntime", "cpu", "cpu"]);
    await initEngine("cpu");
  });

  it("onnxruntime: the cpu provider trains here; each other provider starts or says why in one line", async () => {
    const info = await initEngine("onnxruntime", { ortProvider: "cpu", wasmThreads: 2 });
    assert.deepEqual(
      { engine: info.engine, provider: info.provider, backend: info.backend, threads: info.threads },
      { engine: "onnxruntime", provider: "cpu", backend: "cpu", threads: 2 },
    );
    for (const provider of ["cuda", "webgpu"] as const) {
      const why = await probeProvider(provider);
      if (why === undefined) {
        assert.equal((await initEngine("onnxruntime", { ortProvider: provider })).provider, provider);
      } else {
        assert.doesNotMatch(why, /\n/);
        await assert.rejects(initEngine("onnxruntime", { ortProvider: provider }), (err: unknown) => {
          assert.ok(err instanceof EngineUnavailableError);
          assert.match(err.message, new RegExp(`^engine onnxruntime: onnxruntime ${provider}: .+`));
          return true;
        });
      }
    }
    // Its own "auto": cuda, then webgpu on a hardware adapter only, then cpu.
    const adapter = await dawnAdapter((s) => import(s) as Promise<unknown>).catch(() => undefined);
    const chosen = (await initEngine("onnxruntime", { ortProvider: "auto" })).provider;
    if ((await probeProvider("cuda")) === undefined) assert.equal(chosen, "cuda");
    else if (adapter !== undefined && !adapter.software && (await probeProvider("webgpu")) === undefined)
      assert.equal(chosen, "webgpu");
    else assert.equal(chosen, "cpu", `Dawn's adapter: ${adapter?.name ?? "none"}`);
    assert.throws(
      () => ortProviderFromEnv({ STYLEKUBE_ORT_PROVIDER: "tpu" }),
      /STYLEKUBE_ORT_PROVIDER=tpu: use one of auto, cpu, webgpu, cuda/,
    );
    await initEngine("cpu");
  });

  it("MirrorPad's gradient adds the reflected border back (tfjs's own drops it)", () => {
    // The one-kernel gradient (cpu, wasm) and the tfjs-ops one (other backends), both by the definition.
    for (const [mode, path] of [
      ["reflect", "kernel"],
      ["symmetric", "kernel"],
      ["reflect", "ops"],
      ["symmetric", "ops"],
    ] as const) {
      const pads: [number, number][] = [[0, 0], [2, 3], mode === "reflect" ? [4, 1] : [4, 2], [0, 0]];
      const shape = [2, 6, 5, 3] as const;
      const x = tf.randomNormal([...shape], 0, 1, "float32", 1);
      const padded = tf.mirrorPad(x, pads, mode);
      const w = tf.randomNormal(padded.shape, 0, 1, "float32", 2);
      const got = (
        path === "kernel"
          ? tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mirrorPad(t, pads, mode), w)))(x)
          : mirrorPadGrad(w, x, pads, mode)
      ).dataSync();
      // By the definition: each padded element's source index, summed.
      const src = (j: number, lo: number, n: number): number => {
        const i = j - lo;
        if (i < 0) return mode === "reflect" ? -i : -i - 1;
        if (i >= n) return mode === "reflect" ? 2 * (n - 1) - i : 2 * n - 1 - i;
        return i;
      };
      const [b, h, wd, c] = shape;
      const [, ph, pw] = padded.shape as [number, number, number, number];
      const wv = w.dataSync();
      const want = new Float32Array(x.size);
      for (let n = 0; n < b; n++)
        for (let i = 0; i < ph; i++)
          for (let j = 0; j < pw; j++)
            for (let k = 0; k < c; k++) {
              const at =
                ((n * h + src(i, pads[1]?.[0] ?? 0, h)) * wd + src(j, pads[2]?.[0] ?? 0, wd)) * c + k;
              want[at] = (want[at] as number) + (wv[((n * ph + i) * pw + j) * c + k] as number);
            }
      const diff = Math.max(...got.map((v, i) => Math.abs(v - (want[i] as number))));
      assert.ok(diff < 1e-5, `${mode} (${path}): max difference ${diff}`);
      tf.dispose([x, padded, w]);
    }
  });

  it("the cpu ResizeNearestNeighborGrad is right for batch > 1 (tfjs-backend-cpu's mixes up images)", () => {
    const x = tf.zeros([2, 2, 2, 1]);
    const dy = tf.tensor4d(
      Array.from({ length: 32 }, (_, i) => i),
      [2, 4, 4, 1],
    );
    const g = tf
      .engine()
      .runKernel(
        "ResizeNearestNeighborGrad",
        { images: x, dy },
        { alignCorners: false, halfPixelCenters: false },
      ) as tf.Tensor;
    // Each input pixel collects its 2×2 block of dy.
    assert.deepEqual([...g.dataSync()], [10, 18, 42, 50, 74, 82, 106, 114]);
  });

  it("the fast cpu Conv2DBackpropFilter matches the stock kernel", () => {
    const stock = stockConv2DBackpropFilter();
    assert.ok(stock, "the stock kernel was replaced and kept");
    const cases: {
      x: [number, number, number, number];
      f: [number, number, number, number];
      stride: number;
      pad: "same" | "valid" | number;
    }[] = [
      { x: [2, 9, 9, 3], f: [3, 3, 3, 5], stride: 1, pad: "same" },
      { x: [1, 9, 8, 4], f: [3, 3, 4, 6], stride: 2, pad: "valid" },
      { x: [1, 10, 10, 2], f: [9, 9, 2, 3], stride: 1, pad: 4 },
      { x: [3, 7, 7, 3], f: [2, 2, 3, 2], stride: 2, pad: "same" },
    ];
    for (const c of cases) {
      tf.tidy(() => {
        const x = tf.randomNormal(c.x, 0, 1, "float32", 1) as tf.Tensor4D;
        const f = tf.randomNormal(c.f, 0, 1, "float32", 2) as tf.Tensor4D;
        const y = tf.conv2d(x, f, c.stride, c.pad);
        const dy = tf.randomNormal(y.shape, 0, 1, "float32", 3) as tf.Tensor4D;
        const attrs = { strides: c.stride, pad: c.pad, dataFormat: "NHWC", filterShape: c.f };
        const got = tf.engine().runKernel("Conv2DBackpropFilter", { x, dy }, attrs) as tf.Tensor;
        const backend = tf.backend();
        const wantInfo = stock({ inputs: { x, dy }, backend, attrs }) as tf.TensorInfo;
        const want = tf.engine().makeTensorFromTensorInfo(wantInfo);
        assert.deepEqual(got.shape, want.shape);
        const diff = tf.max(tf.abs(tf.sub(got, want))).dataSync()[0] ?? NaN;
        assert.ok(diff < 1e-4, `${JSON.stringify(c)}: max difference ${diff}`);
      });
    }
  });

  it("TRAINING_KERNELS lists every kernel a training step runs", async () => {
    const vgg = await loadVgg16({ random: true });
    const layers = { content: "relu2_2", style: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"] } as const;
    const used = new Set<string>();
    for (const [normalization, upsampling] of [
      ["instance", "upsample-conv"],
      ["batch", "transpose"],
    ] as const) {
      const net = new TransformerNet({ normalization, upsampling });
      const targets = computeStyleTargets(
        vgg,
        tf.randomUniform([1, 8, 8, 3], 0, 255) as tf.Tensor4D,
        layers.style,
      );
      const content = tf.randomUniform([2, 8, 8, 3], 0, 255) as tf.Tensor4D;
      const setup = { net, vgg, styleTargets: targets, layers, weights: { content: 1, style: 5, tv: 1e-6 } };
      const profile = await tf.profile(async () => {
        await trainStep(setup, createOptimizer(), content);
      });
      profile.kernelNames.forEach((k) => used.add(k));
      net.dispose();
    }
    // A tf.customGrad op (the ×2 upsampling) is profiled under tfjs's placeholder
    // name "unnamed scope"; the kernels it runs appear under their own names.
    used.delete("unnamed scope");
    // The one-kernel MirrorPad gradient is ours and optional: a backend without
    // it (webgpu) runs the gradient as tfjs ops, whose kernels it then needs.
    used.delete(MIRROR_PAD_GRAD);
    const composite = await tf.profile(() => {
      const x = tf.ones([1, 6, 6, 2]);
      const dy = tf.ones([1, 10, 10, 2]);
      return mirrorPadGrad(
        dy,
        x,
        [
          [0, 0],
          [2, 2],
          [2, 2],
          [0, 0],
        ],
        "reflect",
      );
    });
    composite.kernelNames.forEach((k) => used.add(k));
    // Adam runs as kernels on every backend but cpu, where it is one
    // JavaScript loop: one update on wasm stands for those backends.
    await initEngine("wasm");
    // Two parameters: tfjs skips the Concat kernel for a single tensor.
    const params = new Map([
      ["a", tf.variable(tf.ones([4]))],
      ["b", tf.variable(tf.ones([2, 3]))],
    ]);
    const grads = new Map([...params].map(([name, p]) => [name, tf.onesLike(p)] as [string, tf.Tensor]));
    const adamKernels = await tf.profile(() => createOptimizer().apply(params, grads));
    adamKernels.kernelNames.forEach((k) => used.add(k));
    tf.dispose([...params.values()]);
    await initEngine("cpu");
    const missing = [...used].filter((k) => !TRAINING_KERNELS.includes(k));
    assert.deepEqual(missing, [], "kernels a training step uses but TRAINING_KERNELS lacks");
    const unused = TRAINING_KERNELS.filter((k) => !used.has(k));
    assert.deepEqual(unused, [], "kernels TRAINING_KERNELS lists but no training step uses");
    vgg.dispose();
  });
});
