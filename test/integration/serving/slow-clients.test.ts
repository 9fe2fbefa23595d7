// Clients that would hold the model server hostage, against the real server
// process over loopback: slow uploads (more of them than inference tickets),
// bodies beyond the upload budget, headers that never end; and the admin API,
// which is off without a token.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { gzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { FileStore } from "../../../common/storage/index.js";
import { answerErrorCode, slowRequest, stylizeHead } from "./slow-client.js";
import {
  errorCode,
  startServerProcess,
  stylize,
  testImage,
  trainAndExport,
  waitFor,
  waitUntilReady,
  type ServerProcess,
} from "./support.js";

const MiB = 1024 * 1024;
const store = new FileStore({ durable: false });
const dir = mkdtempSync(join(tmpdir(), "stylekube-serving-slow-"));
const base = pathToFileURL(dir).href;

async function metric(url: string, line: RegExp): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = text.split("\n").find((l) => line.test(l));
  return match === undefined ? undefined : Number(match.split(" ").pop());
}

describe("model server against slow clients", { timeout: 300_000 }, () => {
  let server: ServerProcess;
  let port: number;

  before(async () => {
    const uri = await trainAndExport(store, `${base}/a/`, { seed: 1, style: "a" });
    server = await startServerProcess({
      STYLEKUBE_ENGINE: "wasm",
      STYLEKUBE_STYLES: JSON.stringify({ a: uri }),
      // Two inference tickets.
      STYLEKUBE_CONCURRENCY: "1",
      STYLEKUBE_QUEUE_SIZE: "1",
      STYLEKUBE_MAX_BODY_BYTES: String(MiB),
      STYLEKUBE_MAX_INFLIGHT_BODY_BYTES: String(2 * MiB),
      STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND: "8192",
      STYLEKUBE_MIN_UPLOAD_WINDOW_MS: "2000",
      STYLEKUBE_HEADERS_TIMEOUT_MS: "2000",
    });
    port = Number(new URL(server.url).port);
    await waitUntilReady(server);
  });

  after(async () => {
    const code = await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `graceful exit; output:\n${server?.output().slice(-3000)}`);
  });

  const slowUpload = (declared: number) =>
    slowRequest({
      port,
      head: stylizeHead("a", declared),
      bytesPerSecond: 1024,
      bodyBytes: declared,
      giveUpAfterMs: 60_000,
    });

  it("slow uploads hold no inference ticket: with more of them than tickets a normal request succeeds, and each is cut off with 408", async () => {
    const slow = [0, 1, 2].map(() => slowUpload(100_000));
    await sleep(500);
    const normal = await stylize(server.url, "a", await testImage(32, 24));
    assert.equal(normal.status, 200, normal.body.toString());
    for (const r of await Promise.all(slow)) {
      assert.equal(r.stillOpen, false, "the server closed the connection");
      assert.equal(r.status, 408, r.answer);
      assert.equal(answerErrorCode(r.answer), "upload_too_slow");
      assert.match(r.answer, /below this server's minimum of 8192 bytes\/s/);
      assert.match(r.answer, /^Connection: close\r$/im);
      assert.ok(r.sentBytes < 100_000, "cut off before the body was complete");
    }
    assert.ok(((await metric(server.url, /^stylekube_errors_total\{kind="upload_too_slow"\}/)) ?? 0) >= 3);
  });

  it("bodies beyond the upload budget get 429 with Retry-After at once; the budget frees when the uploads end", async () => {
    // Two 1 MiB uploads fill the 2 MiB budget.
    const slow = [slowUpload(MiB), slowUpload(MiB)];
    await waitFor("the budget full", async () =>
      (await metric(server.url, /^stylekube_upload_bytes_in_flight /)) === 2 * MiB ? true : undefined,
    );
    const refused = await stylize(server.url, "a", await testImage(32, 24));
    assert.equal(refused.status, 429, refused.body.toString());
    assert.equal(errorCode(refused.body), "overloaded");
    assert.match(refused.body.toString(), /receiving other uploads/);
    assert.ok(Number(refused.headers.get("retry-after")) >= 1);

    for (const r of await Promise.all(slow)) assert.equal(r.status, 408, r.answer);
    await waitFor("the budget free", async () =>
      (await metric(server.url, /^stylekube_upload_bytes_in_flight /)) === 0 ? true : undefined,
    );
    assert.equal((await stylize(server.url, "a", await testImage(32, 24))).status, 200);
  });

  it("a declared body over the limit is refused before any byte of it is read: 413, connection closed", async () => {
    const r = await slowRequest({
      port,
      head: stylizeHead("a", 2 * MiB),
      bytesPerSecond: 0,
      bodyBytes: 0,
      giveUpAfterMs: 30_000,
    });
    assert.equal(r.stillOpen, false, "the server closed the connection");
    assert.equal(r.status, 413, r.answer);
    assert.equal(answerErrorCode(r.answer), "payload_too_large");
  });

  it("headers that never end get 408 and the connection closed", async () => {
    const r = await slowRequest({
      port,
      head: "POST /v1/styles/a:stylize HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/jpeg\r\n",
      bytesPerSecond: 0,
      bodyBytes: 0,
      giveUpAfterMs: 60_000,
    });
    assert.equal(r.stillOpen, false, "the server closed the connection");
    assert.equal(r.status, 408, r.answer);
  });

  it("reads gzip-compressed bodies", async () => {
    const png = await testImage(20, 20, "png");
    const res = await fetch(`${server.url}/v1/styles/a:stylize`, {
      method: "POST",
      headers: { "content-type": "image/png", "content-encoding": "gzip", accept: "image/png" },
      body: gzipSync(png),
    });
    assert.equal(res.status, 200, await res.clone().text());
    assert.equal(res.headers.get("x-image-size"), "20x20");
  });

  it("has the admin API off without a token: 405 saying how to enable it, and says so in its log at start", async () => {
    const res = await fetch(`${server.url}/v1/styles/b`, {
      method: "PUT",
      headers: { "content-type": "application/json", authorization: "Bearer anything" },
      body: JSON.stringify({ modelURI: `${base}/a/model/` }),
    });
    assert.equal(res.status, 405);
    assert.match(
      await res.text(),
      /admin API is off on this server: STYLEKUBE_ADMIN_TOKEN is not set; set it/,
    );
    assert.match(server.output(), /"msg":"admin API off: STYLEKUBE_ADMIN_TOKEN is not set/);
    assert.equal((await fetch(`${server.url}/v1/styles/a`, { method: "DELETE" })).status, 405);
    assert.equal((await fetch(`${server.url}/v1/styles/a`)).status, 200, "style a is still there");
  });

  it("will not start with STYLEKUBE_ADMIN_API=true and no token (exit 2, naming the variable)", async () => {
    await assert.rejects(
      startServerProcess({ STYLEKUBE_ENGINE: "wasm", STYLEKUBE_ADMIN_API: "true" }),
      /exited with 2[\s\S]*STYLEKUBE_ADMIN_API: true needs STYLEKUBE_ADMIN_TOKEN/,
    );
  });
});
