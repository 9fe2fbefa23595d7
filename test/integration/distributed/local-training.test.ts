// End to end on one machine: `stylekube train --local` with 2 worker
// processes over the real NATS server, data and checkpoints in the real S3
// server (MinIO). A run finishes with a loadable model; a run whose worker is
// killed mid-training fails that attempt on every worker within the step
// deadline, keeps its last complete checkpoint loadable, and the next attempt
// resumes from it and finishes.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import sharp from "sharp";
import { stringify } from "yaml";
import { joinUri, type ObjectStore } from "../../../common/storage/index.js";
import { latestCheckpoint, listCheckpoints } from "../../../trainer/checkpoint/checkpoints.js";
import { packDataset } from "../../../trainer/data/pack.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { loadModel } from "../../../model/model-export.js";
import { runLocal } from "../../../trainer/local-runner.js";
import { ENV_FILE } from "../../env/env-file.js";
import { openTestStore, testUri } from "../../support/test-store.js";

const dir = mkdtempSync(join(tmpdir(), "stylekube-local-"));
const run = `local-${Date.now()}`;

function s3(path: string): string {
  return testUri(run, path);
}

function spec(
  name: string,
  iterations: number,
  engine: "cpu" | "onnxruntime" = "cpu",
  extra: { initialModel?: string; hyperparameters?: Record<string, unknown> } = {},
): string {
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    stringify({
      apiVersion: "stylekube.io/v1alpha1",
      kind: "StyleTraining",
      metadata: { name },
      spec: {
        style: s3("style.png"),
        dataset: s3("dataset/"),
        output: s3(`${name}/`),
        workers: 2,
        engine,
        resources: { gpu: 0 },
        lossNetwork: { random: true },
        checkpoint: { everySteps: 2, keep: 2 },
        backoffLimit: 1,
        hyperparameters: {
          imageSize: 16,
          batchSize: 1,
          iterations,
          contentLayer: "relu1_2",
          styleLayers: ["relu1_2", "relu2_2"],
          ...extra.hyperparameters,
        },
        ...(extra.initialModel !== undefined ? { initialModel: extra.initialModel } : {}),
      },
    }),
  );
  return file;
}

describe("stylekube train --local", () => {
  let store: ObjectStore;

  before(async () => {
    await initEngine("cpu"); // this process loads the exported models
    store = openTestStore();
    const photos = join(dir, "photos");
    mkdirSync(photos);
    for (let i = 0; i < 12; i++) {
      const pixels = Buffer.alloc(40 * 32 * 3);
      for (let p = 0; p < pixels.length; p++) pixels[p] = (p * (i + 3) * 7919) % 251;
      await sharp(pixels, { raw: { width: 40, height: 32, channels: 3 } })
        .jpeg()
        .toFile(join(photos, `p${i}.jpg`));
    }
    await packDataset(store, photos, s3("dataset/"), { size: 16, shardSize: 4 });
    const style = await sharp({ create: { width: 24, height: 24, channels: 3, background: "#c04020" } })
      .png()
      .toBuffer();
    await store.put(s3("style.png"), style);
  });

  it("trains with 2 workers and exports a loadable model", async () => {
    const progress: string[] = [];
    const result = await runLocal({
      file: spec("complete", 4),
      envFile: ENV_FILE,
      extraEnv: { STYLEKUBE_LOG_LEVEL: "warn" },
      onProgress: (line) => progress.push(line),
    });
    assert.ok(result.ok, result.error);
    assert.equal(result.attempts, 1);
    const { net, description } = await loadModel(store, result.modelURI!);
    assert.equal(description.trainedSteps, 4);
    assert.match(description.specHash ?? "", /^[0-9a-f]{64}$/);
    assert.ok(Number.isFinite(description.finalLoss?.total), "the final loss is recorded");
    assert.equal(net.parameterCount(), 1_679_235);
    net.dispose();
    const last = progress.find((l) => /step 4\/4/.test(l));
    assert.ok(last, progress.join("\n"));
    // The progress line shows the terms as they add up: total = λc·ℓc + λs·ℓs + λTV·ℓTV.
    const m = /loss (\S+) = content (\S+) \+ style (\S+) \+ tv (\S+)/.exec(last);
    assert.ok(m, last);
    const [total, ...terms] = m.slice(1).map(Number) as [number, ...number[]];
    const sum = terms.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(sum - total) <= 0.01 * Math.abs(total), `${last}: terms add up to ${sum}`);
    assert.deepEqual(
      (await listCheckpoints(store, s3("complete/"))).map((c) => c.step),
      [4, 2],
    );
  });

  it("starts from spec.initialModel's weights", async () => {
    const initialModel = s3("complete/model/");
    const { net: start } = await loadModel(store, initialModel);
    const continued = await runLocal({
      // A vanishing learning rate: the exported weights are the ones the training started from.
      file: spec("continued", 2, "cpu", { initialModel, hyperparameters: { learningRate: 1e-12 } }),
      envFile: ENV_FILE,
      extraEnv: { STYLEKUBE_LOG_LEVEL: "warn" },
    });
    assert.ok(continued.ok, continued.error);
    const { net: end } = await loadModel(store, continued.modelURI!);
    let largest = 0;
    for (const [name, p] of start.params) {
      const a = (await p.data()) as Float32Array;
      const b = (await end.params.get(name)!.data()) as Float32Array;
      for (let i = 0; i < a.length; i++) largest = Math.max(largest, Math.abs(a[i]! - b[i]!));
    }
    assert.ok(largest < 1e-6, `weights moved by ${largest} from the initial model`);
    start.dispose();
    end.dispose();
  });

  it("trains with 2 workers on the onnxruntime engine (the step as one ONNX graph) and exports model.onnx too", async () => {
    const result = await runLocal({
      file: spec("onnxruntime", 2, "onnxruntime"),
      envFile: ENV_FILE,
      extraEnv: { STYLEKUBE_LOG_LEVEL: "warn", STYLEKUBE_ORT_PROVIDER: "cpu" },
    });
    assert.ok(result.ok, result.error);
    const { net, description } = await loadModel(store, result.modelURI!);
    assert.equal(description.trainedSteps, 2);
    assert.ok(Number.isFinite(description.finalLoss?.total), "the final loss is recorded");
    assert.equal(description.onnx?.file, "model.onnx");
    assert.ok(
      (await store.getBytes(joinUri(result.modelURI!, "model.onnx"))).length > 6e6,
      "model.onnx holds the weights",
    );
    net.dispose();
  });

  it("a killed worker fails the attempt; the next resumes from the checkpoint and finishes", async () => {
    const output = s3("resumed/");
    let killedAt: number | undefined;
    const result = await runLocal({
      file: spec("resumed", 6),
      envFile: ENV_FILE,
      extraEnv: { STYLEKUBE_LOG_LEVEL: "warn", STYLEKUBE_STEP_TIMEOUT_MS: "20000" },
      onAttempt: (attempt, workers) => {
        if (attempt !== 1) return;
        void (async () => {
          // Kill rank 1 once the first checkpoint is complete.
          while (!(await latestCheckpoint(store, output))) await new Promise((r) => setTimeout(r, 100));
          killedAt = Date.now();
          workers[1]!.kill("SIGKILL");
        })();
      },
    });
    assert.ok(killedAt, "the worker was never killed");
    assert.ok(result.ok, result.error);
    assert.equal(result.attempts, 2);
    const { description } = await loadModel(store, result.modelURI!);
    assert.equal(description.trainedSteps, 6);
    const latest = await latestCheckpoint(store, output);
    assert.equal(latest?.step, 6);
  });
});
