// The storage layout of a training's outputs is a contract between the
// trainer (writes), the operator (reports status.modelURI), the dashboard
// (lists and proxies previews) and buckets written by earlier versions: the
// exact names are pinned here, and each side is checked against the others
// through the one module they all use.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { FileStore, joinUri, writeWithManifest } from "../../../common/storage/index.js";
import {
  checkpointManifestStep,
  checkpointPrefix,
  checkpointsPrefix,
  listPreviews,
  modelPrefix,
  parsePreviewKey,
  previewOriginalUri,
  previewsPrefix,
  previewStepPrefix,
  previewUri,
  stepName,
} from "../../../common/storage/training-layout.js";
import { withinPrefix } from "../../../controller/dashboard/dashboard.js";
import { exportModel, readModelFiles } from "../../../model/model-export.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { initEngine } from "../../../trainer/engine/engines.js";

const OUTPUT = "s3://models/runs/mosaic/";

describe("training layout", () => {
  it("names checkpoints, previews and the model as existing buckets hold them", () => {
    assert.equal(stepName(1000), "step-00001000");
    assert.equal(checkpointsPrefix(OUTPUT), "s3://models/runs/mosaic/checkpoints/");
    assert.equal(checkpointPrefix(OUTPUT, 1000), "s3://models/runs/mosaic/checkpoints/step-00001000/");
    assert.equal(previewsPrefix(OUTPUT), "s3://models/runs/mosaic/previews/");
    assert.equal(previewStepPrefix(OUTPUT, 500), "s3://models/runs/mosaic/previews/step-00000500/");
    assert.equal(
      previewUri(OUTPUT, 500, "00-chelsea"),
      "s3://models/runs/mosaic/previews/step-00000500/00-chelsea.jpg",
    );
    assert.equal(
      previewOriginalUri(OUTPUT, "00-chelsea"),
      "s3://models/runs/mosaic/previews/photos/00-chelsea.jpg",
    );
    assert.equal(modelPrefix(OUTPUT), "s3://models/runs/mosaic/model/");
    // An output without its trailing slash names the same prefix.
    assert.equal(modelPrefix("s3://models/runs/mosaic"), modelPrefix(OUTPUT));
    assert.equal(
      previewUri("file:///data/out", 7, "01-sea"),
      "file:///data/out/previews/step-00000007/01-sea.jpg",
    );
  });

  it("refuses steps that cannot name a file", () => {
    for (const step of [-1, 1.5, Number.NaN, 2 ** 60])
      assert.throws(() => stepName(step), /step must be a non-negative integer/);
  });

  it("reads steps back from the names it writes, and nothing else", () => {
    for (const step of [0, 500, 99_999_999, 123_456_789]) {
      const preview = previewUri(OUTPUT, step, "00-chelsea").slice(previewsPrefix(OUTPUT).length);
      assert.deepEqual(parsePreviewKey(preview), { kind: "stylised", step, photo: "00-chelsea" });
      const manifest = joinUri(checkpointPrefix(OUTPUT, step), "manifest.json");
      assert.equal(checkpointManifestStep(manifest.slice(checkpointsPrefix(OUTPUT).length)), step);
    }
    assert.equal(parsePreviewKey("step-00000500/00-chelsea.gif"), undefined);
    assert.equal(parsePreviewKey("step-500/00-chelsea.jpg"), undefined);
    assert.equal(parsePreviewKey("notes/step-00000500/00-chelsea.jpg"), undefined);
    assert.equal(parsePreviewKey("step-00000500/00-chelsea.jpg.tmp"), undefined);
    assert.equal(parsePreviewKey("step-00000500/chelsea.jpg"), undefined);
    assert.equal(checkpointManifestStep("step-00000500/weights.bin"), undefined);
    assert.equal(checkpointManifestStep("step-00000500/sub/manifest.json"), undefined);
  });

  describe("trainer, operator and dashboard agree", () => {
    let dir: string;
    let output: string;
    const store = new FileStore({ durable: false });
    before(() => {
      dir = mkdtempSync(join(tmpdir(), "training-layout-"));
      output = pathToFileURL(join(dir, "run")).href + "/";
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("the dashboard lists the previews the trainer writes, and its guard lets them through", async () => {
      const steps = [1000, 500, 123_456_789];
      const photos = ["00-chelsea", "01-sea"];
      for (const photo of photos) await store.put(previewOriginalUri(output, photo), Buffer.from(photo));
      for (const step of steps)
        for (const photo of photos)
          await store.put(previewUri(output, step, photo), Buffer.from(`${photo} ${step}`));
      // Beside them: a checkpoint, and objects that are not previews.
      await writeWithManifest(store, checkpointPrefix(output, 500), [{ name: "state.json", body: "{}" }], {
        kind: "checkpoint",
        step: 500,
      });
      await store.put(joinUri(previewsPrefix(output), "notes.txt"), "not a preview");
      await store.put(joinUri(previewStepPrefix(output, 600), "00-chelsea.gif"), "not a preview type");

      const listed = await listPreviews(store, output);
      assert.deepEqual(listed, [
        { step: 500, photos },
        { step: 1000, photos },
        { step: 123_456_789, photos },
      ]);
      for (const { step } of listed) {
        for (const photo of photos) {
          const uri = previewUri(output, step, photo);
          assert.ok(withinPrefix(uri, previewsPrefix(output)), uri);
          assert.equal((await store.getBytes(uri)).toString(), `${photo} ${step}`);
        }
      }
    });

    it("the trainer exports the model where the operator's status.modelURI points", async () => {
      await initEngine("cpu");
      const net = new TransformerNet({ seed: 5 });
      const written = await exportModel(store, output, net, {
        trainedSteps: 1,
        style: "s.jpg",
        imageSize: 16,
      });
      assert.equal(written, modelPrefix(output));
      const { description } = await readModelFiles(store, modelPrefix(output));
      assert.equal(description.trainedSteps, 1);
    });
  });
});
