// The training path reads tensors only asynchronously. Under Node the webgpu
// backend cannot read synchronously at all (tfjs-backend-webgpu's readSync
// needs OffscreenCanvas): one dataSync() in a checkpoint, a preview, the
// export or the gradient exchange would crash a GPU training at its first
// checkpoint. This runs a real worker in-process (real NATS, real MinIO) on
// the cpu engine with synchronous reads made to throw, through steps,
// gradient exchange, checkpoints, previews and export.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { pino } from "pino";
import sharp from "sharp";
import { validateStyleTraining } from "../../../common/api/index.js";
import type { ObjectStore } from "../../../common/storage/index.js";
import { listCheckpoints } from "../../../trainer/checkpoint/checkpoints.js";
import { packDataset } from "../../../trainer/data/pack.js";
import { openDatasetBatches } from "../../../trainer/data/reader.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { DoctorReportSchema } from "../../../trainer/engine/doctor.js";
import { loadModel } from "../../../model/model-export.js";
import { runWorker } from "../../../trainer/worker.js";
import { readTestEnv } from "../../env/env-file.js";
import { openTestStore, testUri } from "../../support/test-store.js";

const run = `async-reads-${Date.now()}`;

describe("the training path never reads a tensor synchronously", () => {
  let store: ObjectStore;
  const s3 = (path: string): string => testUri(run, path);
  const engine = tf.engine() as unknown as { readSync: (dataId: tf.DataId) => unknown };
  const readSync = engine.readSync;
  let syncReads = 0;

  before(async () => {
    await initEngine("cpu");
    store = openTestStore();
    const photos = join(mkdtempSync(join(tmpdir(), "stylekube-async-")), "photos");
    mkdirSync(photos);
    for (let i = 0; i < 4; i++) {
      await sharp({
        create: { width: 24, height: 20, channels: 3, background: { r: 40 * i, g: 90, b: 200 } },
      })
        .jpeg()
        .toFile(join(photos, `p${i}.jpg`));
    }
    await packDataset(store, photos, s3("dataset/"), { size: 16, shardSize: 2 });
    // A held-out photo beside the dataset: the default preview photos.
    await store.put(
      s3("dataset/held-out/lake.png"),
      await sharp({ create: { width: 40, height: 30, channels: 3, background: "#3070a0" } })
        .png()
        .toBuffer(),
    );
    await store.put(
      s3("style.png"),
      await sharp({ create: { width: 16, height: 16, channels: 3, background: "#2060c0" } })
        .png()
        .toBuffer(),
    );
  });

  after(() => {
    engine.readSync = readSync;
  });

  it("trains, exchanges gradients, checkpoints, previews and exports with dataSync forbidden", async () => {
    const validated = validateStyleTraining({
      apiVersion: "stylekube.io/v1alpha1",
      kind: "StyleTraining",
      metadata: { name: "async-reads", namespace: "default" },
      spec: {
        style: s3("style.png"),
        dataset: s3("dataset/"),
        output: s3("out/"),
        workers: 1,
        engine: "cpu",
        resources: { gpu: 0 },
        lossNetwork: { random: true },
        checkpoint: { everySteps: 2, keep: 2 },
        hyperparameters: {
          imageSize: 16,
          batchSize: 1,
          iterations: 4,
          contentLayer: "relu1_2",
          styleLayers: ["relu1_2", "relu2_2"],
        },
      },
    });
    assert.ok(validated.ok);
    engine.readSync = () => {
      syncReads++;
      throw new Error(
        "synchronous tensor read on the training path (the webgpu backend cannot do this under Node)",
      );
    };
    // The worker's log, to check what it says at start.
    const logLines: Record<string, unknown>[] = [];
    const log = pino({ level: "info" }, { write: (line: string) => logLines.push(JSON.parse(line)) });
    try {
      await runWorker(
        {
          jobId: run,
          namespace: "default",
          name: "async-reads",
          attempt: 1,
          rank: 0,
          worldSize: 1,
          spec: validated.value.spec,
          natsUrl: readTestEnv().natsUrl,
          s3ForcePathStyle: undefined,
        },
        { openBatches: openDatasetBatches, store, log },
      );
    } finally {
      engine.readSync = readSync;
    }
    assert.equal(syncReads, 0, "no synchronous read was attempted");
    // Before anything else, what `stylekube doctor` reports: every engine, the cpu engine working.
    const first = logLines[0];
    assert.equal(first?.["msg"], "compute engines on this machine (stylekube doctor)");
    const report = DoctorReportSchema.parse(first?.["engines"]);
    assert.equal(report.checks.length, 7);
    assert.equal(report.checks.find((c) => c.engine === "cpu")?.status, "ok");
    assert.deepEqual(
      (await listCheckpoints(store, s3("out/"))).map((c) => c.step),
      [4, 2],
      "checkpoints at steps 4 and 2 (newest first)",
    );
    const previews: string[] = [];
    for await (const entry of store.list(s3("out/previews/"))) previews.push(entry.relativeKey);
    assert.deepEqual(
      previews.sort(),
      ["photos/00-lake.jpg", "step-00000002/00-lake.jpg", "step-00000004/00-lake.jpg"],
      "the held-out photo, and its preview beside each checkpoint",
    );
    const { net } = await loadModel(store, s3("out/model/"));
    assert.equal(net.parameterCount(), 1_679_235);
    net.dispose();
  });
});
