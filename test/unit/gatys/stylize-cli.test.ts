import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { runStylizeCommand } from "../../../cli/stylize.js";
import { openStore } from "../../../common/storage/index.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { exportModel } from "../../../model/model-export.js";
import { imageLoss, imageTensor } from "../../../trainer/gatys/loss-problem.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import { computeStyleTargets } from "../../../trainer/losses/index.js";
import { TransformerNet } from "../../../model/transformer-net.js";

describe("stylekube stylize -m (cli/stylize.ts) and imageLoss", () => {
  let dir: string;
  before(async () => {
    await initEngine("cpu");
    dir = await mkdtemp(join(tmpdir(), "stylekube-stylize-"));
    const net = new TransformerNet({ seed: 7 });
    await exportModel(openStore(), pathToFileURL(dir).href + "/", net, {
      trainedSteps: 3,
      style: "test",
      imageSize: 16,
    });
    net.dispose();
    // 37×23: neither side a multiple of 4, so the server's padding and crop are exercised.
    const rgb = Buffer.from(Array.from({ length: 37 * 23 * 3 }, (_, i) => (i * 7) % 256));
    await sharp(rgb, { raw: { width: 37, height: 23, channels: 3 } })
      .png()
      .toFile(join(dir, "in.png"));
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it("writes an image of the input's size through the inference pool", async () => {
    const out = join(dir, "out.png");
    const code = await runStylizeCommand([
      "-m",
      join(dir, "model"),
      join(dir, "in.png"),
      "-o",
      out,
      "--engine",
      "cpu",
    ]);
    assert.equal(code, 0);
    const meta = await sharp(await readFile(out)).metadata();
    assert.deepEqual([meta.width, meta.height, meta.format], [37, 23, "png"]);
  });

  it("refuses an unknown output type and a missing model, naming the problem", async () => {
    assert.equal(
      await runStylizeCommand(["-m", join(dir, "model"), join(dir, "in.png"), "-o", join(dir, "x.gif")]),
      1,
    );
    assert.equal(await runStylizeCommand([join(dir, "in.png"), "-o", join(dir, "x.png")]), 2);
  });

  it("imageLoss: zero content loss for the content itself, content resized to the image", async () => {
    const vgg = await loadVgg16({ random: true, seed: 1 });
    const photo = await imageTensor(join(dir, "in.png"));
    const targets = computeStyleTargets(vgg, photo, ["relu1_2"]);
    const problem = {
      vgg,
      styleTargets: targets,
      layers: { content: "relu2_2" as const, style: ["relu1_2" as const] },
      weights: { content: 1, style: 1, tv: 0 },
      dispose: () => undefined,
    };
    const same = await imageLoss(problem, photo, photo);
    assert.equal(same.content, 0);
    assert.ok(same.style < 1e-6, `style loss of the style image itself: ${same.style}`);
    const small = await imageTensor(join(dir, "in.png"), { fill: { width: 16, height: 12 } });
    assert.deepEqual(small.shape, [1, 12, 16, 3]);
    const resized = await imageLoss(problem, small, photo);
    assert.ok(Number.isFinite(resized.content) && resized.content > 0);
    tf.dispose([photo, small, ...targets.values()]);
    vgg.dispose();
  });
});
