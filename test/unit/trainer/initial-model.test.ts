// spec.initialModel: a training starts from an exported model's weights, and a
// model of another architecture is refused with a message naming both fields.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { before, describe, it } from "node:test";
import { openStore } from "../../../common/storage/index.js";
import { exportModel } from "../../../model/model-export.js";
import { TransformerNet } from "../../../model/transformer-net.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { InitialModelError, loadInitialModel } from "../../../trainer/initial-model.js";

describe("loadInitialModel", () => {
  const output = `${pathToFileURL(mkdtempSync(join(tmpdir(), "stylekube-initial-"))).href}/`;
  const store = openStore(output);
  let model: string;

  before(async () => {
    await initEngine("cpu");
    const trained = new TransformerNet({ normalization: "instance", upsampling: "upsample-conv", seed: 7 });
    model = await exportModel(store, output, trained, { trainedSteps: 12, style: "s.jpg", imageSize: 16 });
    trained.dispose();
  });

  it("replaces a new network's random weights with the model's", async () => {
    const fresh = new TransformerNet({ normalization: "instance", upsampling: "upsample-conv", seed: 0 });
    const reference = new TransformerNet({ normalization: "instance", upsampling: "upsample-conv", seed: 7 });
    const description = await loadInitialModel(store, model, fresh, {
      normalization: "instance",
      upsampling: "upsample-conv",
    });
    assert.equal(description.trainedSteps, 12);
    for (const [name, p] of reference.params) {
      assert.deepEqual(await fresh.params.get(name)!.data(), await p.data(), name);
    }
    fresh.dispose();
    reference.dispose();
  });

  it("refuses a model whose normalization or upsampling differs, naming the fields and the fix", async () => {
    const net = new TransformerNet({ normalization: "batch", upsampling: "upsample-conv" });
    await assert.rejects(
      loadInitialModel(store, model, net, { normalization: "batch", upsampling: "upsample-conv" }),
      (err: unknown) =>
        err instanceof InitialModelError &&
        /spec\.initialModel .* has normalization instance but spec\.hyperparameters\.normalization is batch: set hyperparameters\.normalization to instance/.test(
          err.message,
        ),
    );
    net.dispose();
  });

  it("says what to point it at when there is no model", async () => {
    const net = new TransformerNet({ normalization: "instance", upsampling: "upsample-conv" });
    await assert.rejects(
      loadInitialModel(store, `${output}nothing/`, net, {
        normalization: "instance",
        upsampling: "upsample-conv",
      }),
      /spec\.initialModel .*nothing\/: cannot read an exported model there .*point it at a model\/ prefix/,
    );
    net.dispose();
  });
});
