// What the s3 backend does on throttling, 5xx and 4xx, against a scripted
// local server: the SDK's standard retry strategy (configured in s3.ts) must
// retry SlowDown/503, 500 and 400 IncompleteBody with backoff, and must not retry a 403.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createLogger } from "../../../common/log/logger.js";
import { NotFoundError, readAll, S3Store, StorageError } from "../../../common/storage/index.js";
import { s3ErrorXml, startFakeS3, type FakeS3 } from "./fake-s3.js";

const CREDS = { accessKeyId: "AKIDFAKE", secretAccessKey: "fake-secret" };
const SLOW_DOWN = { status: 503, body: s3ErrorXml("SlowDown", "Please reduce your request rate.") };

describe("S3Store retries (local fake S3)", () => {
  const servers: FakeS3[] = [];
  const stores: S3Store[] = [];
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.close()));
  });

  async function setup(
    reply: Parameters<typeof startFakeS3>[0],
    maxAttempts = 5,
  ): Promise<[S3Store, FakeS3]> {
    const server = await startFakeS3(reply);
    servers.push(server);
    const store = new S3Store(
      { endpoint: server.endpoint, region: "us-east-1", maxAttempts, ...CREDS },
      { logger: createLogger("test", "silent") }, // the failures here are expected
    );
    stores.push(store);
    return [store, server];
  }

  it("retries PutObject after 503 SlowDown twice, then succeeds on the 3rd attempt", async () => {
    const [store, server] = await setup((_req, n) =>
      n < 2 ? SLOW_DOWN : { status: 200, headers: { etag: '"e"' } },
    );
    const res = await store.put("s3://bucket-a/dir/obj.txt", "payload");
    assert.equal(res.size, 7);
    assert.equal(server.requests.length, 3);
    for (const r of server.requests) {
      assert.equal(r.method, "PUT");
      assert.equal(r.url.split("?")[0], "/bucket-a/dir/obj.txt"); // path-style
      assert.equal(r.body.toString(), "payload"); // the whole body was replayed
    }
    // The SDK marks each try; the third says so.
    assert.match(String(server.requests[2]!.headers["amz-sdk-request"]), /attempt=3/);
  });

  it("resends a PUT whose body the server says it did not receive in full (400 IncompleteBody)", async () => {
    const [store, server] = await setup((_req, n) =>
      n < 1
        ? {
            status: 400,
            body: s3ErrorXml(
              "IncompleteBody",
              "You did not provide the number of bytes specified by the Content-Length HTTP header.",
            ),
          }
        : { status: 200, headers: { etag: '"e"' } },
    );
    const res = await store.put("s3://bucket-a/obj.bin", Buffer.alloc(32, 7));
    assert.equal(res.size, 32);
    assert.equal(server.requests.length, 2);
    assert.equal(server.requests[1]!.body.length, 32);
  });

  it("retries GetObject after 503 SlowDown twice, then returns the body", async () => {
    const [store, server] = await setup((_req, n) =>
      n < 2
        ? SLOW_DOWN
        : {
            status: 200,
            body: "hello from s3",
            headers: { "last-modified": new Date().toUTCString(), etag: '"e"' },
          },
    );
    assert.equal((await store.getBytes("s3://bucket-a/k")).toString(), "hello from s3");
    assert.equal(server.requests.length, 3);
    assert.ok(server.requests.every((r) => r.method === "GET"));
  });

  it("getBytes re-issues the GET when the connection drops mid-body (the SDK retries requests, not bodies)", async () => {
    const body = "0123456789".repeat(1000);
    const ok = { status: 200, body, headers: { "last-modified": new Date().toUTCString(), etag: '"e"' } };
    const [store, server] = await setup((_req, n) => (n === 0 ? { ...ok, truncateAfter: 100 } : ok));
    assert.equal((await store.getBytes("s3://bucket-a/k")).toString(), body);
    assert.equal(server.requests.length, 2);
    // get() hands the stream to the caller, so the same failure surfaces there.
    const [store2] = await setup(() => ({ ...ok, truncateAfter: 100 }));
    const stream = await store2.get("s3://bucket-a/k");
    await assert.rejects(readAll(stream));
  });

  it("retries a plain 500 InternalError", async () => {
    const [store, server] = await setup((_req, n) =>
      n < 1
        ? { status: 500, body: s3ErrorXml("InternalError", "oops") }
        : { status: 200, headers: { etag: '"e"' } },
    );
    await store.put("s3://bucket-a/k", Buffer.from("x"));
    assert.equal(server.requests.length, 2);
  });

  it("retries a streamed put (the body is buffered into replayable parts)", async () => {
    const { Readable } = await import("node:stream");
    const [store, server] = await setup((_req, n) =>
      n < 2 ? SLOW_DOWN : { status: 200, headers: { etag: '"e"' } },
    );
    const res = await store.put(
      "s3://bucket-a/streamed",
      Readable.from([Buffer.from("ab"), Buffer.from("cd")]),
    );
    assert.equal(res.size, 4);
    assert.equal(server.requests.length, 3);
    assert.equal(server.requests[2]!.body.toString(), "abcd");
  });

  it("does not retry a 403, and reports it as a StorageError with status and code", async () => {
    const [store, server] = await setup(() => ({
      status: 403,
      body: s3ErrorXml("AccessDenied", "Access Denied"),
    }));
    await assert.rejects(store.put("s3://bucket-a/k", "x"), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.ok(!(e instanceof NotFoundError));
      assert.equal(e.status, 403);
      assert.equal(e.code, "AccessDenied");
      assert.equal(e.op, "put");
      assert.match(e.message, /s3:\/\/bucket-a\/k/);
      return true;
    });
    assert.equal(server.requests.length, 1);
  });

  it("gives up after maxAttempts on persistent SlowDown", async () => {
    const [store, server] = await setup(() => SLOW_DOWN, 2);
    await assert.rejects(store.put("s3://bucket-a/k", "x"), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.status, 503);
      assert.equal(e.code, "SlowDown");
      assert.equal(e.attempts, 2);
      return true;
    });
    assert.equal(server.requests.length, 2);
  });

  it("maps 404 NoSuchKey to NotFoundError, and HEAD 404 to exists() === false", async () => {
    const [store] = await setup((req) =>
      req.method === "HEAD" ? { status: 404 } : { status: 404, body: s3ErrorXml("NoSuchKey", "no such key") },
    );
    await assert.rejects(store.get("s3://bucket-a/missing"), NotFoundError);
    assert.equal(await store.exists("s3://bucket-a/missing"), false);
    await assert.rejects(store.stat("s3://bucket-a/missing"), NotFoundError);
  });

  it("reports NoSuchBucket as a StorageError that says to create the bucket, not as NotFoundError", async () => {
    const [store] = await setup(() => ({
      status: 404,
      body: s3ErrorXml("NoSuchBucket", "The bucket does not exist"),
    }));
    await assert.rejects(store.get("s3://bucket-a/k"), (e: unknown) => {
      assert.ok(e instanceof StorageError && !(e instanceof NotFoundError));
      assert.match(e.message, /bucket does not exist/);
      return true;
    });
  });

  it("starts a multipart upload of a Buffer again when it ends in 404 NoSuchUpload", async () => {
    // CreateMultipartUpload, UploadPart × 2, CompleteMultipartUpload (404 the first
    // time, as after a lost response to a completed upload), AbortMultipartUpload;
    // then the whole upload again.
    let uploads = 0;
    let completes = 0;
    const server = await startFakeS3((req) => {
      const url = new URL(req.url, "http://fake");
      if (req.method === "POST" && url.searchParams.has("uploads")) {
        uploads++;
        return {
          status: 200,
          body: `<?xml version="1.0" encoding="UTF-8"?>\n<InitiateMultipartUploadResult><Bucket>bucket-a</Bucket><Key>big.bin</Key><UploadId>up-${uploads}</UploadId></InitiateMultipartUploadResult>`,
        };
      }
      if (req.method === "PUT" && url.searchParams.has("partNumber")) {
        return { status: 200, headers: { etag: `"part-${url.searchParams.get("partNumber")}"` } };
      }
      if (req.method === "POST" && url.searchParams.has("uploadId")) {
        completes++;
        if (completes === 1) {
          return { status: 404, body: s3ErrorXml("NoSuchUpload", "The specified upload does not exist.") };
        }
        return {
          status: 200,
          body: `<?xml version="1.0" encoding="UTF-8"?>\n<CompleteMultipartUploadResult><Location>http://fake/bucket-a/big.bin</Location><Bucket>bucket-a</Bucket><Key>big.bin</Key><ETag>"whole"</ETag></CompleteMultipartUploadResult>`,
        };
      }
      if (req.method === "DELETE") return { status: 204 };
      return { status: 400, body: s3ErrorXml("InvalidRequest", `unexpected ${req.method} ${req.url}`) };
    });
    servers.push(server);
    const store = new S3Store(
      { endpoint: server.endpoint, region: "us-east-1", maxAttempts: 3, partSize: 5 * 1024 * 1024, ...CREDS },
      { logger: createLogger("test", "silent") },
    );
    stores.push(store);
    const body = Buffer.alloc(6 * 1024 * 1024, 3);
    const res = await store.put("s3://bucket-a/big.bin", body);
    assert.equal(res.size, body.length);
    assert.equal(uploads, 2, "a second multipart upload was started");
    assert.equal(completes, 2);
    const parts = server.requests.filter((r) => r.method === "PUT");
    assert.equal(parts.length, 4, "both parts sent in each upload");
    assert.equal(
      parts.reduce((n, r) => n + r.body.length, 0),
      2 * body.length,
    );
  });

  it("does not start a multipart upload again after a 403", async () => {
    let uploads = 0;
    const server = await startFakeS3((req) => {
      const url = new URL(req.url, "http://fake");
      if (req.method === "POST" && url.searchParams.has("uploads")) uploads++;
      return { status: 403, body: s3ErrorXml("AccessDenied", "Access Denied") };
    });
    servers.push(server);
    const store = new S3Store(
      { endpoint: server.endpoint, region: "us-east-1", maxAttempts: 3, partSize: 5 * 1024 * 1024, ...CREDS },
      { logger: createLogger("test", "silent") },
    );
    stores.push(store);
    await assert.rejects(store.put("s3://bucket-a/big.bin", Buffer.alloc(6 * 1024 * 1024)), StorageError);
    assert.equal(uploads, 1);
  });
});
