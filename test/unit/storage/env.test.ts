import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  FileStore,
  openStore,
  RoutingStore,
  S3Store,
  storeOptionsFromEnv,
  StorageError,
} from "../../../common/storage/index.js";

describe("storage options from the environment", () => {
  it("defaults to AWS's endpoint, us-east-1 and the default credential chain", () => {
    assert.deepEqual(storeOptionsFromEnv({}), { s3: { region: "us-east-1" }, file: {} });
  });

  it("reads every documented variable", () => {
    const opts = storeOptionsFromEnv({
      STYLEKUBE_S3_ENDPOINT: "http://minio:9000",
      AWS_REGION: "eu-west-1",
      STYLEKUBE_S3_FORCE_PATH_STYLE: "false",
      STYLEKUBE_S3_ACCESS_KEY_ID: "id",
      STYLEKUBE_S3_SECRET_ACCESS_KEY: "secret",
      STYLEKUBE_S3_MAX_ATTEMPTS: "7",
      STYLEKUBE_S3_RETRY_MODE: "adaptive",
      STYLEKUBE_S3_PART_SIZE_MIB: "16",
      STYLEKUBE_S3_UPLOAD_CONCURRENCY: "2",
      STYLEKUBE_FILE_DURABLE: "0",
    });
    assert.deepEqual(opts, {
      s3: {
        endpoint: "http://minio:9000",
        region: "eu-west-1",
        forcePathStyle: false,
        accessKeyId: "id",
        secretAccessKey: "secret",
        maxAttempts: 7,
        retryMode: "adaptive",
        partSize: 16 * 1024 * 1024,
        uploadConcurrency: 2,
      },
      file: { durable: false },
    });
  });

  it("prefers STYLEKUBE_S3_REGION, then AWS_REGION, then AWS_DEFAULT_REGION; ignores empty values", () => {
    assert.equal(storeOptionsFromEnv({ STYLEKUBE_S3_REGION: "a", AWS_REGION: "b" }).s3?.region, "a");
    assert.equal(storeOptionsFromEnv({ AWS_DEFAULT_REGION: "c" }).s3?.region, "c");
    assert.equal(storeOptionsFromEnv({ AWS_REGION: "", AWS_DEFAULT_REGION: "c" }).s3?.region, "c");
    assert.equal(storeOptionsFromEnv({ AWS_MAX_ATTEMPTS: "9" }).s3?.maxAttempts, 9);
  });

  it("names the bad variable, never its value", () => {
    assert.throws(
      () =>
        storeOptionsFromEnv({
          STYLEKUBE_S3_MAX_ATTEMPTS: "lots",
          STYLEKUBE_S3_SECRET_ACCESS_KEY: "hunter2-secret",
        }),
      (e: unknown) => {
        assert.ok(e instanceof StorageError);
        assert.match(e.message, /STYLEKUBE_S3_MAX_ATTEMPTS/);
        assert.ok(!e.message.includes("hunter2"));
        return true;
      },
    );
    assert.throws(
      () => storeOptionsFromEnv({ STYLEKUBE_S3_ENDPOINT: "minio:9000" }),
      /STYLEKUBE_S3_ENDPOINT/,
    );
    assert.throws(
      () => storeOptionsFromEnv({ STYLEKUBE_S3_FORCE_PATH_STYLE: "yes" }),
      /STYLEKUBE_S3_FORCE_PATH_STYLE/,
    );
  });

  it("rejects half a key pair and a part size under S3's 5 MiB minimum", () => {
    assert.throws(() => new S3Store({ accessKeyId: "only-id" }), /both accessKeyId and secretAccessKey/);
    assert.throws(() => new S3Store({ partSize: 1024 }), StorageError);
  });

  it("openStore picks the backend by scheme", async () => {
    const env = { STYLEKUBE_S3_ENDPOINT: "http://127.0.0.1:1" };
    assert.ok(openStore("file:///tmp/x", env) instanceof FileStore);
    const s3 = openStore("s3://bkt/x", env);
    assert.ok(s3 instanceof S3Store);
    assert.equal(s3.description.endpoint, "http://127.0.0.1:1");
    assert.equal(s3.description.forcePathStyle, true);
    await s3.close();
    const routed = openStore({});
    assert.ok(routed instanceof RoutingStore);
    assert.deepEqual(routed.schemes, ["s3", "file"]);
    assert.throws(() => openStore("gs://bkt/x", env), /unsupported scheme/);
    await routed.close();
  });
});
