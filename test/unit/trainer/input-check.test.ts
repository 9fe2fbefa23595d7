// The worker's check of its inputs, on the file store: each missing or
// unreadable input is a PermanentInputError naming its field and URI, and a
// spec whose inputs are all there passes and hands back the decoded style.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { before, describe, it } from "node:test";
import sharp from "sharp";
import { validateStyleTraining, type StyleTrainingSpec } from "../../../common/api/index.js";
import { createLogger } from "../../../common/log/logger.js";
import { FileStore } from "../../../common/storage/index.js";
import { exportModel } from "../../../model/model-export.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { packDataset } from "../../../trainer/data/pack.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { checkInputs, PermanentInputError } from "../../../trainer/input-check.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";

const root = mkdtempSync(join(tmpdir(), "stylekube-inputs-"));
const uri = (path: string) => pathToFileURL(join(root, path)).href;
const store = new FileStore({ durable: false, logger: createLogger("test", "silent") });

function spec(overrides: Record<string, unknown>): StyleTrainingSpec {
  const obj = minimalStyleTraining("inputs");
  obj.spec = {
    ...obj.spec,
    style: uri("style.png"),
    dataset: `${uri("dataset")}/`,
    output: `${uri("out")}/`,
    lossNetwork: { weights: uri("vgg16.safetensors") },
    ...overrides,
  };
  const r = validateStyleTraining(obj);
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value.spec;
}

/** The PermanentInputError that checkInputs rejects with; fails the test on anything else. */
async function permanentError(s: StyleTrainingSpec): Promise<PermanentInputError> {
  const err = await checkInputs(store, s).then(
    () => assert.fail("the inputs were accepted"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof PermanentInputError, `not a PermanentInputError: ${String(err)}`);
  return err;
}

describe("checkInputs", () => {
  before(async () => {
    const photos = join(root, "photos");
    mkdirSync(photos);
    for (let i = 0; i < 2; i++)
      await sharp({ create: { width: 20, height: 20, channels: 3, background: i ? "#204080" : "#80a020" } })
        .jpeg()
        .toFile(join(photos, `p${i}.jpg`));
    await packDataset(store, photos, `${uri("dataset")}/`, { size: 16 });
    await sharp({ create: { width: 24, height: 16, channels: 3, background: "#c04020" } })
      .png()
      .toFile(join(root, "style.png"));
    // Only looked up, not read: any bytes do.
    writeFileSync(join(root, "vgg16.safetensors"), "weights");
    writeFileSync(join(root, "not-an-image.png"), "plain text");
  });

  it("passes a spec whose inputs are all there and returns the decoded style", async () => {
    const { styleRgb } = await checkInputs(store, spec({}));
    assert.deepEqual([styleRgb.width, styleRgb.height], [24, 16]);
  });

  const cases: { name: string; spec: Record<string, unknown>; field: string; uri?: string; says: RegExp }[] =
    [
      {
        name: "a missing style image",
        spec: { style: uri("missing.jpg") },
        field: "spec.style",
        uri: uri("missing.jpg"),
        says: /cannot read the style image .*not found.*point spec\.style at it/,
      },
      {
        name: "a style that is not an image",
        spec: { style: uri("not-an-image.png") },
        field: "spec.style",
        uri: uri("not-an-image.png"),
        says: /not a readable image.*JPEG, PNG or WebP/,
      },
      {
        name: "a dataset prefix with no index",
        spec: { dataset: `${uri("photos")}/` },
        field: "spec.dataset",
        uri: `${uri("photos")}/`,
        says: /no readable dataset index \(index\.json\).*stylekube dataset pack/,
      },
      {
        name: "missing VGG-16 weights",
        spec: { lossNetwork: { weights: uri("none/vgg16.safetensors") } },
        field: "spec.lossNetwork.weights",
        uri: uri("none/vgg16.safetensors"),
        says: /cannot read the VGG-16 weights.*weights pull vgg16/,
      },
      {
        name: "weights whose format the extension does not tell",
        spec: { lossNetwork: { weights: uri("vgg16.bin") } },
        field: "spec.lossNetwork.format",
        uri: uri("vgg16.bin"),
        says: /set spec\.lossNetwork\.format/,
      },
      {
        name: "no loss network at all",
        spec: { lossNetwork: {} },
        field: "spec.lossNetwork.weights",
        says: /stylekube weights pull vgg16/,
      },
      {
        name: "a missing initial model",
        spec: { initialModel: `${uri("no-model")}/` },
        field: "spec.initialModel",
        uri: `${uri("no-model")}/`,
        says: /cannot read an exported model there/,
      },
    ];
  for (const c of cases) {
    it(`${c.name}: ${c.field}`, async () => {
      const err = await permanentError(spec(c.spec));
      assert.equal(err.field, c.field);
      assert.equal(err.uri, c.uri);
      assert.match(err.message, c.says);
      assert.ok(err.message.includes(c.field), `the message names the field: ${err.message}`);
      if (c.uri !== undefined) assert.ok(err.message.includes(c.uri), `and the URI: ${err.message}`);
    });
  }

  it("weights over HTTP: a 404 is permanent, a 503 is thrown as it is (the attempt is retried)", async () => {
    const server = createServer((req, res) => {
      res.writeHead(req.url === "/gone/vgg16.h5" ? 404 : 503).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const gone = await permanentError(spec({ lossNetwork: { weights: `${base}/gone/vgg16.h5` } }));
      assert.equal(gone.field, "spec.lossNetwork.weights");
      assert.match(gone.message, /HTTP 404/);
      const busy = await checkInputs(store, spec({ lossNetwork: { weights: `${base}/busy/vgg16.h5` } })).then(
        () => assert.fail("the inputs were accepted"),
        (e: unknown) => e,
      );
      assert.ok(!(busy instanceof PermanentInputError), String(busy));
      assert.match(String(busy), /HTTP 503/);
    } finally {
      server.close();
    }
  });

  it("an initial model of another architecture, before any checkpoint: spec.initialModel", async () => {
    await initEngine("cpu");
    const net = new TransformerNet({ normalization: "batch", upsampling: "upsample-conv", seed: 1 });
    const model = await exportModel(store, `${uri("old")}/`, net, {
      trainedSteps: 1,
      style: "s",
      imageSize: 16,
    });
    net.dispose();
    const err = await permanentError(
      spec({ initialModel: model, hyperparameters: { normalization: "instance" } }),
    );
    assert.equal(err.field, "spec.initialModel");
    assert.match(err.message, /has normalization batch but spec\.hyperparameters\.normalization is instance/);
  });
});
