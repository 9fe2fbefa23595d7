// Permanent errors fail fast, on the real S3 server (MinIO): `stylekube
// train --local` with a style image that does not exist stops after one
// attempt, in the workers' first seconds (before the compute engine, NATS and
// VGG-16), naming spec.style and its URI — though backoffLimit would allow
// three more; and the input check tells MinIO's own answers apart: a missing
// object or bucket and refused credentials are permanent, an unreachable
// server is not.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import sharp from "sharp";
import { stringify } from "yaml";
import { validateStyleTraining, type StyleTrainingSpec } from "../../../common/api/index.js";
import { openStore, type ObjectStore } from "../../../common/storage/index.js";
import { packDataset } from "../../../trainer/data/pack.js";
import { checkInputs, PermanentInputError } from "../../../trainer/input-check.js";
import { ENV_FILE, readTestEnv } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import { runStylekube } from "../../support/stylekube-cli.js";
import { openTestStore, testUri } from "../../support/test-store.js";

const dir = mkdtempSync(join(tmpdir(), "stylekube-permanent-"));
const run = `permanent-${Date.now()}`;
const s3 = (path: string) => testUri(run, path);

function specFields(overrides: Record<string, unknown> = {}) {
  return {
    style: s3("style.png"),
    dataset: s3("dataset/"),
    output: s3("out/"),
    workers: 2,
    engine: "cpu",
    resources: { gpu: 0 },
    lossNetwork: { random: true },
    backoffLimit: 3,
    hyperparameters: {
      imageSize: 16,
      batchSize: 1,
      iterations: 2,
      contentLayer: "relu1_2",
      styleLayers: ["relu1_2"],
    },
    ...overrides,
  };
}

function validSpec(overrides: Record<string, unknown> = {}): StyleTrainingSpec {
  const obj = minimalStyleTraining("permanent");
  obj.spec = { ...obj.spec, ...(specFields(overrides) as typeof obj.spec) };
  const r = validateStyleTraining(obj);
  assert.ok(r.ok, r.ok ? "" : r.message);
  return r.value.spec;
}

/** What checkInputs rejects with against `store`. */
async function rejection(store: ObjectStore, spec: StyleTrainingSpec): Promise<unknown> {
  return checkInputs(store, spec).then(
    () => assert.fail("the inputs were accepted"),
    (e: unknown) => e,
  );
}

describe("permanent input errors on the real S3 server", () => {
  let store: ObjectStore;

  before(async () => {
    store = openTestStore();
    const photos = join(dir, "photos");
    mkdirSync(photos);
    for (let i = 0; i < 2; i++)
      await sharp({ create: { width: 20, height: 20, channels: 3, background: i ? "#204080" : "#80a020" } })
        .jpeg()
        .toFile(join(photos, `p${i}.jpg`));
    await packDataset(store, photos, s3("dataset/"), { size: 16 });
    await store.put(
      s3("style.png"),
      await sharp({ create: { width: 24, height: 24, channels: 3, background: "#c04020" } })
        .png()
        .toBuffer(),
    );
  });

  it("train --local: a missing style image ends the run after one attempt, before any worker starts training", async () => {
    const missing = s3("no-such-style.jpg");
    const file = join(dir, "missing-style.yaml");
    writeFileSync(
      file,
      stringify({
        apiVersion: "stylekube.io/v1alpha1",
        kind: "StyleTraining",
        metadata: { name: "missing-style" },
        spec: specFields({ style: missing }),
      }),
    );
    const started = performance.now();
    const result = await runStylekube(["train", "-f", file, "--local", "--env-file", ENV_FILE]);
    const seconds = (performance.now() - started) / 1000;
    const output = result.stdout + result.stderr;
    assert.equal(result.code, 1, output.slice(-3000));
    assert.match(
      result.stderr,
      /training failed: worker \d failed with a permanent error \(exit code 66\): spec\.style /,
      output.slice(-3000),
    );
    assert.ok(
      result.stderr.includes(`spec.style ${missing}: cannot read the style image`),
      output.slice(-3000),
    );
    assert.match(result.stderr, /not retried/);
    // Logged by every worker once its engine is up, before it connects to NATS and loads VGG-16.
    assert.ok(!output.includes("worker starting"), "a worker got past its input check");
    assert.ok(!/attempt"?:\s*2/.test(output), "a second attempt was started");
    console.log(`train --local with a missing style failed after ${seconds.toFixed(1)} s`);
  });

  it("a missing dataset index, a missing bucket and refused credentials are permanent; an unreachable server is not", async () => {
    const dataset = await rejection(store, validSpec({ dataset: s3("no-dataset/") }));
    assert.ok(dataset instanceof PermanentInputError, String(dataset));
    assert.equal(dataset.field, "spec.dataset");
    assert.ok(dataset.message.includes(s3("no-dataset/")), dataset.message);

    const noBucket = `s3://no-such-bucket-${run}/style.png`;
    const bucket = await rejection(store, validSpec({ style: noBucket }));
    assert.ok(bucket instanceof PermanentInputError, String(bucket));
    assert.equal(bucket.field, "spec.style");
    assert.match(bucket.message, /NoSuchBucket/);

    const env = readTestEnv().s3;
    const badKeys = openStore({
      s3: {
        endpoint: env.endpoint,
        region: env.region,
        accessKeyId: "nobody",
        secretAccessKey: "wrong-secret-key",
        forcePathStyle: true,
      },
    });
    const denied = await rejection(badKeys, validSpec());
    assert.ok(denied instanceof PermanentInputError, String(denied));
    assert.match(denied.message, /InvalidAccessKeyId|AccessDenied|SignatureDoesNotMatch/);
    await badKeys.close();

    // A port nothing listens on: the SDK's retries run out, and the attempt is retried, not the training failed.
    const closed = new URL(env.endpoint);
    closed.port = "1";
    const unreachable = openStore({
      s3: {
        endpoint: closed.origin,
        region: env.region,
        accessKeyId: env.accessKeyId,
        secretAccessKey: env.secretAccessKey,
        forcePathStyle: true,
        maxAttempts: 2,
      },
    });
    const down = await rejection(unreachable, validSpec());
    assert.ok(!(down instanceof PermanentInputError), `an unreachable server is permanent: ${String(down)}`);
    await unreachable.close();
  });
});
