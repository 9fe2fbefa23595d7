// Which storage failures fail a training for good: a table of errors as the
// stores make them (S3 answers from a scripted local server, errnos from the
// file store, URIs the stores refuse), each with the kind it must get.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, describe, it } from "node:test";
import { createLogger } from "../../../common/log/logger.js";
import { storageFailureKind, type FailureKind } from "../../../common/storage/failure-kind.js";
import { FileStore, NotFoundError, parseUri, S3Store, StorageError } from "../../../common/storage/index.js";
import { s3ErrorXml, startFakeS3, type FakeS3 } from "./fake-s3.js";

const CREDS = { accessKeyId: "AKIDFAKE", secretAccessKey: "fake-secret" };

/** An S3 answer to every request, and the kind of the error a GET gets from it. */
const S3_ANSWERS: { name: string; status: number; code?: string; kind: FailureKind }[] = [
  { name: "404 NoSuchKey (the object is missing)", status: 404, code: "NoSuchKey", kind: "permanent" },
  { name: "404 NoSuchBucket (the bucket is missing)", status: 404, code: "NoSuchBucket", kind: "permanent" },
  { name: "403 AccessDenied", status: 403, code: "AccessDenied", kind: "permanent" },
  { name: "403 InvalidAccessKeyId", status: 403, code: "InvalidAccessKeyId", kind: "permanent" },
  { name: "400 InvalidBucketName", status: 400, code: "InvalidBucketName", kind: "permanent" },
  {
    name: "400 ExpiredToken (credentials renewed on the next try)",
    status: 400,
    code: "ExpiredToken",
    kind: "transient",
  },
  {
    name: "403 RequestTimeTooSkewed (a clock that drifted)",
    status: 403,
    code: "RequestTimeTooSkewed",
    kind: "transient",
  },
  { name: "500 InternalError", status: 500, code: "InternalError", kind: "transient" },
  { name: "503 SlowDown", status: 503, code: "SlowDown", kind: "transient" },
  { name: "502 without a body", status: 502, kind: "transient" },
  { name: "429 without a body", status: 429, kind: "transient" },
];

describe("storageFailureKind", () => {
  const servers: FakeS3[] = [];
  const stores: S3Store[] = [];
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.close()));
  });

  for (const answer of S3_ANSWERS) {
    it(`S3 ${answer.name}: ${answer.kind}`, async () => {
      const server = await startFakeS3(() => ({
        status: answer.status,
        ...(answer.code ? { body: s3ErrorXml(answer.code, "scripted") } : {}),
      }));
      servers.push(server);
      // One try: the kind must not depend on the SDK's retries having run out.
      const store = new S3Store(
        { endpoint: server.endpoint, region: "us-east-1", maxAttempts: 1, ...CREDS },
        { logger: createLogger("test", "silent") },
      );
      stores.push(store);
      const err = await store.getBytes("s3://bucket/style.jpg").then(
        () => assert.fail("the GET succeeded"),
        (e: unknown) => e,
      );
      assert.ok(err instanceof StorageError, String(err));
      assert.equal(storageFailureKind(err), answer.kind, `${err.message} (code ${err.code})`);
    });
  }

  it("a connection refused (no server listening) is transient", async () => {
    const server = await startFakeS3(() => ({ status: 200 }));
    const endpoint = server.endpoint;
    await server.close();
    const store = new S3Store(
      { endpoint, region: "us-east-1", maxAttempts: 1, ...CREDS },
      { logger: createLogger("test", "silent") },
    );
    stores.push(store);
    const err = await store.getBytes("s3://bucket/style.jpg").then(
      () => assert.fail("the GET succeeded"),
      (e: unknown) => e,
    );
    assert.equal(storageFailureKind(err), "transient", String(err));
  });

  it("the file store: a missing file and an unreadable one are permanent", async () => {
    const dir = mkdtempSync(join(tmpdir(), "stylekube-kind-"));
    const store = new FileStore({ logger: createLogger("test", "silent") });
    const missing = await store.getBytes(pathToFileURL(join(dir, "none.jpg")).href).catch((e: unknown) => e);
    assert.ok(missing instanceof NotFoundError);
    assert.equal(storageFailureKind(missing), "permanent");
    const locked = join(dir, "locked.jpg");
    writeFileSync(locked, "x");
    chmodSync(locked, 0o000);
    const denied = await store.getBytes(pathToFileURL(locked).href).then(
      (bytes) => bytes,
      (e: unknown) => e,
    );
    // root reads any file: then there is no error to classify.
    if (denied instanceof Error) {
      assert.equal((denied as StorageError).code, "EACCES");
      assert.equal(storageFailureKind(denied), "permanent");
    } else assert.equal(process.getuid?.(), 0, "the read of a mode-000 file succeeded without root");
  });

  it("a URI the stores cannot serve is permanent; an error that is not a storage error is transient", () => {
    const invalid = (() => {
      try {
        parseUri("s3:///no-bucket");
      } catch (e) {
        return e;
      }
      return assert.fail("parseUri accepted a URI without a bucket");
    })();
    assert.equal(storageFailureKind(invalid), "permanent");
    assert.equal(
      storageFailureKind(
        new StorageError("get file:///d/: an object URI cannot end with '/'", {
          op: "get",
          uri: "file:///d/",
        }),
      ),
      "permanent",
    );
    assert.equal(
      storageFailureKind(new StorageError("get x: EIO", { op: "get", uri: "x", code: "EIO" })),
      "transient",
    );
    assert.equal(storageFailureKind(new TypeError("fetch failed")), "transient");
    assert.equal(storageFailureKind("a string"), "transient");
  });
});
