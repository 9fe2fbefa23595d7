// `stylekube stylize -m` when not told an engine: the fastest that works
// here, and for a model without model.onnx (exported before ONNX export
// existed, like the gallery's) the fastest other one, saying so.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import sharp from "sharp";
import { engineFromFlag } from "../../../cli/engine-flag.js";
import { openStore } from "../../../common/storage/index.js";
import { exportModel } from "../../../model/model-export.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { REPO_ROOT } from "../../env/env-file.js";
import { runStylekube } from "../../support/stylekube-cli.js";

const env = { ...process.env, STYLEKUBE_LOG_LEVEL: "warn" };

describe("stylekube stylize -m default engine", () => {
  let work: string;
  before(async () => {
    work = await mkdtemp(join(tmpdir(), "stylekube-stylize-defaults-"));
    await initEngine("cpu");
    const net = new TransformerNet({ seed: 5 });
    await exportModel(openStore(), `${pathToFileURL(work).href}/`, net, {
      trainedSteps: 1,
      style: "test",
      imageSize: 16,
    });
    net.dispose();
    const rgb = Buffer.from(Array.from({ length: 20 * 12 * 3 }, (_, i) => (i * 11) % 256));
    await sharp(rgb, { raw: { width: 20, height: 12, channels: 3 } })
      .png()
      .toFile(join(work, "in.png"));
  });
  after(async () => rm(work, { recursive: true, force: true }));

  it("runs a model with model.onnx on the fastest engine, and one without on the fastest other", async () => {
    const fastest = await engineFromFlag(undefined);
    const withOnnx = await runStylekube(
      ["stylize", "-m", join(work, "model"), join(work, "in.png"), "-o", join(work, "a.png")],
      env,
    );
    assert.equal(withOnnx.code, 0, withOnnx.stderr);
    assert.match(
      withOnnx.stderr,
      new RegExp(` on ${[fastest.engine, fastest.provider].filter(Boolean).join(" ")} \\(model `),
    );

    // The gallery's models were exported before model.onnx existed.
    const gallery = resolve(REPO_ROOT, "docs/gallery/starry-night/model");
    const other = await engineFromFlag(undefined, ["onnxruntime"]);
    const without = await runStylekube(
      ["stylize", "-m", gallery, join(work, "in.png"), "-o", join(work, "b.png")],
      env,
    );
    assert.equal(without.code, 0, without.stderr);
    if (fastest.engine === "onnxruntime") {
      assert.match(
        without.stderr,
        /has no model\.onnx .*: running on \S+; `stylekube export --onnx \S+` adds it/,
      );
    }
    assert.match(without.stderr, new RegExp(` on ${other.engine}( \\S+)? \\(model `));
    const meta = await sharp(join(work, "b.png")).metadata();
    assert.deepEqual([meta.width, meta.height], [20, 12]);
  });
});
