import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateStyleServer, validateStyleTraining } from "../../../common/api/index.js";
import {
  INVALID_STYLE_TRAININGS,
  invalidStyleTraining,
  minimalStyleTraining,
} from "../../fixtures/style-trainings.js";

describe("StyleTraining schema (zod)", () => {
  it("fills the defaults (the paper's, λs and λTV chosen on real features) into a minimal object", () => {
    const result = validateStyleTraining(minimalStyleTraining());
    assert.ok(result.ok, result.ok ? "" : result.message);
    const { spec } = result.value;
    assert.equal(spec.workers, 1);
    assert.equal(spec.engine, "auto");
    assert.deepEqual(spec.hyperparameters, {
      imageSize: 256,
      batchSize: 4,
      iterations: 40_000,
      learningRate: 1e-3,
      learningRateSchedule: "constant",
      minLearningRate: 0,
      contentWeight: 1,
      styleWeight: 1e-4,
      tvWeight: 1e-4,
      contentLayer: "relu2_2",
      styleLayers: ["relu1_2", "relu2_2", "relu3_3", "relu4_3"],
      normalization: "instance",
      upsampling: "upsample-conv",
      seed: 0,
    });
    assert.deepEqual(spec.resources, {
      gpu: 1,
      gpuResourceName: "nvidia.com/gpu",
      cpu: "4",
      memory: "16Gi",
      ephemeralStorage: "2Gi",
    });
    assert.deepEqual(spec.lossNetwork, { format: "auto", convention: "auto", random: false });
    assert.deepEqual(spec.checkpoint, { everySteps: 1000, keep: 3 });
    assert.deepEqual(spec.previews, { photos: ["held-out/"], maxPhotos: 4, size: 256 });
    assert.equal(spec.suspend, false);
    assert.equal(spec.backoffLimit, 3);
    assert.equal(spec.serving, undefined);
  });

  it("keeps what the user set", () => {
    const obj = minimalStyleTraining();
    obj.spec.workers = 8;
    obj.spec.hyperparameters = { imageSize: 512, styleLayers: ["relu2_2"] };
    obj.spec.serving = { server: "default", style: "mosaic" };
    const result = validateStyleTraining(obj);
    assert.ok(result.ok);
    assert.equal(result.value.spec.workers, 8);
    assert.equal(result.value.spec.hyperparameters.imageSize, 512);
    assert.equal(result.value.spec.hyperparameters.batchSize, 4);
    assert.deepEqual(result.value.spec.hyperparameters.styleLayers, ["relu2_2"]);
    assert.deepEqual(result.value.spec.serving, { server: "default", style: "mosaic" });
  });

  it("accepts file:// and https:// where they make sense", () => {
    const obj = minimalStyleTraining();
    obj.spec.style = "https://example.org/mosaic.jpg";
    obj.spec.dataset = "file:///data/coco256/";
    obj.spec.output = "file:///data/models/mosaic/";
    assert.ok(validateStyleTraining(obj).ok);
  });

  it("accepts preview photos as URIs or paths relative to the dataset, and none at all", () => {
    const obj = minimalStyleTraining();
    obj.spec.previews = {
      photos: [
        "s3://photos/val2014/cat.jpg",
        "file:///data/held-out/",
        "https://example.org/cat.png",
        "held-out/sea.webp",
        "val/",
        "a..b.jpg",
      ],
    };
    assert.ok(validateStyleTraining(obj).ok);
    obj.spec.previews = { photos: [] };
    assert.ok(validateStyleTraining(obj).ok);
    // A prefix over http cannot be listed.
    obj.spec.previews = { photos: ["https://example.org/held-out/"] };
    assert.equal(validateStyleTraining(obj).ok, false);
  });

  it("rejects a typo'd field instead of silently ignoring it", () => {
    const obj = minimalStyleTraining() as unknown as { spec: Record<string, unknown> };
    obj.spec.worker = 2;
    const result = validateStyleTraining(obj);
    assert.equal(result.ok, false);
    assert.ok(
      !result.ok && result.errors.some((e) => e.field === "spec.worker" && /unknown field/.test(e.message)),
    );
  });

  for (const c of INVALID_STYLE_TRAININGS) {
    it(`rejects ${c.name}, naming ${c.field}`, () => {
      const result = validateStyleTraining(invalidStyleTraining(c, "bad"));
      assert.equal(result.ok, false, `${c.name} was accepted`);
      if (result.ok) return;
      const hit = result.errors.find((e) => e.field === c.field);
      assert.ok(hit, `no error for ${c.field}; got ${result.message}`);
      assert.ok(hit.message.includes(c.message), `"${hit.message}" does not contain "${c.message}"`);
    });
  }

  it("has at least 12 invalid cases covering distinct fields", () => {
    assert.ok(INVALID_STYLE_TRAININGS.length >= 12);
    assert.ok(new Set(INVALID_STYLE_TRAININGS.map((c) => c.field)).size >= 12);
  });
});

describe("StyleServer schema (zod)", () => {
  const server = (spec: Record<string, unknown>) => ({
    apiVersion: "stylekube.io/v1alpha1",
    kind: "StyleServer",
    metadata: { name: "default" },
    spec,
  });

  it("fills defaults", () => {
    const result = validateStyleServer(server({}));
    assert.ok(result.ok);
    assert.equal(result.value.spec.replicas, 1);
    assert.deepEqual(result.value.spec.styles, {});
    assert.equal(result.value.spec.resources.gpu, 0);
  });

  it("rejects autoscaling with min above max, and without a target", () => {
    const a = validateStyleServer(
      server({ autoscaling: { minReplicas: 5, maxReplicas: 2, targetConcurrency: 4 } }),
    );
    assert.ok(
      !a.ok && a.errors.some((e) => e.field === "spec.autoscaling" && e.message.includes("minReplicas")),
    );
    const b = validateStyleServer(server({ autoscaling: { maxReplicas: 2 } }));
    assert.ok(
      !b.ok &&
        b.errors.some((e) => e.field === "spec.autoscaling" && e.message.includes("targetConcurrency")),
    );
  });

  it("rejects style names that cannot appear in a URL path", () => {
    const r = validateStyleServer(
      server({ styles: { "Mosaic!": { modelURI: "s3://models/mosaic/model/" } } }),
    );
    assert.ok(!r.ok && r.errors.some((e) => e.field === "spec.styles" && e.message.includes("RFC 1123")));
  });
});
