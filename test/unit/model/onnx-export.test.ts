// The exported model.onnx, run in ONNX Runtime (CPU EP), against the tfjs
// network it was exported from, for both normalisations and both
// upsamplings, at two image sizes through one session (dynamic H and W).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import * as ort from "onnxruntime-node";
import { FileStore, joinUri } from "../../../common/storage/index.js";
import { exportModel, loadModel, readModelFiles } from "../../../model/model-export.js";
import { CommanderError } from "commander";
import { exportModelCommand } from "../../../cli/export.js";
import { buildProgram } from "../../../cli/program.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { mulberry32 } from "../../../common/mulberry32.js";

/**
 * Largest |ONNX − tfjs| allowed, on outputs in [0, 255]. Both compute in
 * float32 with different summation orders (tfjs cpu's direct conv vs ORT's
 * im2col GEMMs) through 18 convs and 17 normalisations at
 * these sizes; measured ≤ 7.4e-4 (instance norm), 6.1e-5 (batch norm). 0.01 is 1/25 of one 8-bit grey level.
 */
const TOLERANCE = 0.01;

function randomArray(n: number, lo: number, hi: number, seed: number): Float32Array {
  const rand = mulberry32(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * rand());
}

/** NHWC → NCHW, as a plain array. */
function toNchw(data: Float32Array, [n, h, w, c]: number[]): Float32Array {
  const out = new Float32Array(data.length);
  for (let b = 0; b < n!; b++)
    for (let y = 0; y < h!; y++)
      for (let x = 0; x < w!; x++)
        for (let k = 0; k < c!; k++)
          out[((b * c! + k) * h! + y) * w! + x] = data[((b * h! + y) * w! + x) * c! + k]!;
  return out;
}

describe("ONNX export", () => {
  let dir: string;
  before(async () => {
    await initEngine("cpu");
    dir = mkdtempSync(join(tmpdir(), "onnx-export-"));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const normalization of ["instance", "batch"] as const) {
    for (const upsampling of ["upsample-conv", "transpose"] as const) {
      it(`model.onnx matches tfjs within ${TOLERANCE} (${normalization} norm, ${upsampling})`, async () => {
        const net = new TransformerNet({ normalization, upsampling, seed: 11 });
        // Non-trivial γ, β and running statistics, so that their layouts are tested too.
        let seed = 100;
        for (const [name, v] of [...net.params, ...net.buffers]) {
          if (!/gamma|beta|running/.test(name)) continue;
          const [lo, hi] = /runningVar|gamma/.test(name) ? [0.5, 1.5] : [-0.3, 0.3];
          v.assign(tf.tensor(randomArray(v.size, lo, hi, seed++), v.shape));
        }
        const store = new FileStore({ durable: false });
        const output = pathToFileURL(join(dir, `${normalization}-${upsampling}`)).href + "/";
        const prefix = await exportModel(store, output, net, {
          trainedSteps: 3,
          style: "s.jpg",
          imageSize: 16,
        });
        const { description } = await readModelFiles(store, prefix);
        assert.deepEqual(description.onnx, {
          file: "model.onnx",
          opset: 18,
          input: "images",
          output: "stylized",
        });
        const session = await ort.InferenceSession.create(
          await store.getBytes(joinUri(prefix, "model.onnx")),
        );
        try {
          assert.deepEqual(session.inputNames, ["images"]);
          assert.deepEqual(session.outputNames, ["stylized"]);
          for (const [n, h, w] of [
            [2, 16, 20],
            [1, 12, 8],
          ] as const) {
            const nhwc = randomArray(n * h * w * 3, 0, 255, h * w);
            const want = tf.tidy(() =>
              net
                .apply(tf.tensor4d(nhwc, [n, h, w, 3]), { training: false })
                .transpose([0, 3, 1, 2])
                .dataSync(),
            ) as Float32Array;
            const result = await session.run({
              images: new ort.Tensor("float32", toNchw(nhwc, [n, h, w, 3]), [n, 3, h, w]),
            });
            const got = result.stylized!;
            assert.deepEqual(got.dims, [n, 3, h, w]);
            const values = got.data as Float32Array;
            let maxDiff = 0;
            for (let i = 0; i < values.length; i++)
              maxDiff = Math.max(maxDiff, Math.abs(values[i]! - want[i]!));
            assert.ok(maxDiff < TOLERANCE, `${n}×${h}×${w}: max |onnx − tfjs| = ${maxDiff}`);
            // The output spans a real range (not a constant image that would match trivially).
            assert.ok(Math.max(...values) - Math.min(...values) > 10, "output is not flat");
          }
        } finally {
          await session.release();
        }
        net.dispose();
      });
    }
  }

  it("stylekube export --onnx adds model.onnx to a model exported without it", async () => {
    const net = new TransformerNet({ seed: 3 });
    const store = new FileStore({ durable: false });
    const output = pathToFileURL(join(dir, "older")).href + "/";
    // What an export from before model.onnx existed looks like, as the committed gallery models are
    // still written: two files under the manifest.
    const prefix = await exportModel(
      store,
      output,
      net,
      { trainedSteps: 1, style: "s.jpg", imageSize: 16 },
      { onnx: false },
    );
    await assert.rejects(store.getBytes(joinUri(prefix, "model.onnx")));
    assert.equal((await loadModel(store, prefix)).description.onnx, undefined);
    // The command, given the training output as a plain path (it finds model/ below it).
    const usageError = async (...args: string[]): Promise<string> => {
      const program = buildProgram().configureOutput({ writeErr: () => {}, writeOut: () => {} });
      const err = await program.parseAsync(["node", "stylekube", "export", ...args]).then(
        () => assert.fail(`export ${args.join(" ")} was accepted`),
        (e: unknown) => e,
      );
      assert.ok(err instanceof CommanderError, String(err));
      return err.message;
    };
    assert.match(await usageError("--onnx"), /missing required argument 'model-uri'/);
    assert.match(await usageError("--onnx", join(dir, "older"), "--fast"), /unknown option '--fast'/);
    const repository = join(dir, "triton");
    assert.match(
      await usageError("--onnx", join(dir, "older"), "--triton", repository, "--name", "../x"),
      /--name <style>.*a Triton model name/,
    );
    assert.equal(await exportModelCommand(join(dir, "older"), { onnx: false }, store), 2);
    assert.equal(
      await exportModelCommand(join(dir, "older"), { onnx: true, triton: repository, name: "mosaic" }, store),
      0,
    );
    // The Triton repository: the same bytes, and a config naming the model's input and output.
    assert.deepEqual(
      readFileSync(join(repository, "mosaic/1/model.onnx")),
      await store.getBytes(joinUri(prefix, "model.onnx")),
    );
    const config = readFileSync(join(repository, "mosaic/config.pbtxt"), "utf8");
    assert.match(config, /name: "mosaic"/);
    assert.match(config, /platform: "onnxruntime_onnx"/);
    assert.match(config, /input \[ \{ name: "images", data_type: TYPE_FP32, dims: \[ -1, 3, -1, -1 \] \} \]/);
    // The manifest covers the new file and the model still loads.
    const loaded = await loadModel(store, prefix);
    assert.equal(loaded.description.onnx?.opset, 18);
    const session = await ort.InferenceSession.create(await store.getBytes(joinUri(prefix, "model.onnx")));
    await session.release();
    loaded.net.dispose();
    net.dispose();
  });
});
