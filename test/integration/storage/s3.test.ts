// The ObjectStore contract against a real MinIO (from `npm run env:up`):
// multipart upload of a > 20 MiB stream, listing > 1000 keys across pages,
// and everything else the file backend is held to.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import { readTestEnv } from "../../env/env-file.js";
import { NotFoundError, S3Store, StorageError } from "../../../common/storage/index.js";
import { storeContract } from "../../unit/storage/contract.js";

function storeFromEnv(overrides: { secretAccessKey?: string } = {}): { store: S3Store; bucket: string } {
  const { s3 } = readTestEnv();
  const store = new S3Store({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    accessKeyId: s3.accessKeyId,
    secretAccessKey: overrides.secretAccessKey ?? s3.secretAccessKey,
    // Small parts so the 21 MiB object takes 5 parts (exercises completion order).
    partSize: 5 * 1024 * 1024,
  });
  return { store, bucket: s3.bucket };
}

const runId = `${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;

storeContract(
  "s3:// (MinIO)",
  async () => {
    const { store, bucket } = storeFromEnv();
    await store.ensureBucket(bucket);
    return {
      store,
      root: `s3://${bucket}/stylekube-test/storage-contract/${runId}/`,
      cleanup: () => store.close(),
    };
  },
  { largeBytes: 21 * 1024 * 1024 + 123, manyKeys: 1005 },
);

describe("S3Store against MinIO", () => {
  it("reports a wrong secret as a 403 StorageError without retrying, and without the secret", async () => {
    const wrong = `wrong-${randomBytes(8).toString("hex")}`;
    const { store, bucket } = storeFromEnv({ secretAccessKey: wrong });
    try {
      await assert.rejects(store.put(`s3://${bucket}/stylekube-test/denied-${runId}`, "x"), (e: unknown) => {
        assert.ok(e instanceof StorageError && !(e instanceof NotFoundError));
        assert.equal(e.status, 403);
        assert.equal(e.code, "SignatureDoesNotMatch");
        assert.equal(e.attempts, 1);
        assert.ok(!e.message.includes(wrong) && !JSON.stringify(e).includes(wrong));
        return true;
      });
    } finally {
      await store.close();
    }
  });

  it("reports a missing bucket clearly", async () => {
    const { store } = storeFromEnv();
    try {
      await assert.rejects(store.put(`s3://no-such-bucket-${runId}/k`, "x"), /bucket does not exist/);
      await assert.rejects(async () => {
        for await (const _ of store.list(`s3://no-such-bucket-${runId}/`))
          assert.fail("listed a missing bucket");
      }, /NoSuchBucket.*create it or fix the URI/);
    } finally {
      await store.close();
    }
  });
});
