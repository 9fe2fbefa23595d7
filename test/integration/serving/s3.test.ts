// The server loading its model from S3 (the test environment's MinIO), with
// the storage settings the StyleServer Deployment passes (STYLEKUBE_S3_*).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { readTestEnv } from "../../env/env-file.js";
import { S3Store } from "../../../common/storage/index.js";
import { startServerProcess, stylize, testImage, trainAndExport, type ServerProcess } from "./support.js";

describe("model server with models in S3", { timeout: 180_000 }, () => {
  const { s3 } = readTestEnv();
  const store = new S3Store({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: s3.secretAccessKey,
  });
  const prefix = `s3://${s3.bucket}/serving-test-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}/`;
  let server: ServerProcess;
  let modelURI: string;

  before(async () => {
    modelURI = await trainAndExport(store, `${prefix}mosaic/`, { seed: 5, style: "mosaic", steps: 1 });
    server = await startServerProcess({
      STYLEKUBE_ENGINE: "wasm",
      STYLEKUBE_STYLES: JSON.stringify({ mosaic: modelURI }),
      STYLEKUBE_S3_ENDPOINT: s3.endpoint,
      STYLEKUBE_S3_REGION: s3.region,
      STYLEKUBE_S3_FORCE_PATH_STYLE: String(s3.forcePathStyle),
      STYLEKUBE_S3_ACCESS_KEY_ID: s3.accessKeyId,
      STYLEKUBE_S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    });
  });

  after(async () => {
    const code = await server?.stop();
    await store.deletePrefix(prefix).catch(() => 0);
    await store.close();
    assert.equal(code, 0);
  });

  it("loads the model from s3://, becomes ready and stylises", async () => {
    let ready = 0;
    for (let i = 0; i < 300 && ready !== 200; i++) {
      ready = (await fetch(`${server.url}/v2/health/ready`)).status;
      if (ready !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(ready, 200, server.output().slice(-2000));
    const styles = (await (await fetch(`${server.url}/v1/styles`)).json()) as {
      styles: { name: string; loaded: { modelURI: string; trainedSteps: number } }[];
    };
    assert.equal(styles.styles[0]?.loaded.modelURI, modelURI);
    assert.equal(styles.styles[0]?.loaded.trainedSteps, 1);
    const res = await stylize(server.url, "mosaic", await testImage(50, 30));
    assert.equal(res.status, 200);
    const meta = await sharp(res.body).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 50, 30]);
    assert.doesNotMatch(
      server.output(),
      new RegExp(s3.secretAccessKey),
      "the secret never reaches a log line",
    );
  });
});
