// The server's life around its models: not ready until every configured
// style is loaded, styles arriving later (admin API, retries,
// the styles file), the per-request timeout, and a graceful stop.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { FileStore } from "../../../common/storage/index.js";
import {
  errorCode,
  startServerProcess,
  stylize,
  testImage,
  trainAndExport,
  waitFor,
  type ServerProcess,
} from "./support.js";

const store = new FileStore({ durable: false });
const dir = mkdtempSync(join(tmpdir(), "stylekube-serving-life-"));
const base = pathToFileURL(dir).href;
const stylesFile = join(dir, "styles.json");
const TOKEN = "test-admin-token";

describe("model server lifecycle", { timeout: 300_000 }, () => {
  let server: ServerProcess;
  // Where the trainer will write these models; nothing is there yet.
  const uriLate = `${base}/late/model/`;
  const uriLater = `${base}/later/model/`;

  before(async () => {
    writeFileSync(stylesFile, "{}");
    server = await startServerProcess({
      STYLEKUBE_ENGINE: "wasm",
      STYLEKUBE_STYLES: JSON.stringify({ late: uriLate, later: uriLater }),
      STYLEKUBE_STYLES_FILE: stylesFile,
      STYLEKUBE_STYLES_FILE_POLL_MS: "200",
      STYLEKUBE_MODEL_RETRY_MS: "200",
      STYLEKUBE_MODEL_RETRY_MAX_MS: "400",
      STYLEKUBE_REQUEST_TIMEOUT_MS: "1500",
      STYLEKUBE_ADMIN_TOKEN: TOKEN,
    });
  });

  after(async () => {
    if (server?.child.exitCode === null) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("is live but not ready while configured styles cannot be loaded", async () => {
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
    const ready = await fetch(`${server.url}/v2/health/ready`);
    assert.equal(ready.status, 503);
    assert.deepEqual(((await ready.json()) as { waiting: string[] }).waiting.sort(), ["late", "later"]);
    const res = await stylize(server.url, "late", await testImage(16, 16));
    assert.equal(res.status, 503);
    assert.equal(errorCode(res.body), "style_not_ready");
    const styles = (await (await fetch(`${server.url}/v1/styles`)).json()) as {
      styles: { name: string; state: string; error?: string }[];
    };
    const late = styles.styles.find((s) => s.name === "late");
    assert.ok(late && late.state !== "ready" && late.error, JSON.stringify(late));
  });

  it("becomes ready only when the last configured model has loaded", async () => {
    await trainAndExport(store, `${base}/late/`, { seed: 3, style: "late" });
    const put = (auth?: string) =>
      fetch(`${server.url}/v1/styles/late`, {
        method: "PUT",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify({ modelURI: uriLate }),
      });
    assert.equal((await put()).status, 401, "admin API needs the token");
    assert.equal((await put("Bearer wrong-token-value")).status, 401);
    const ok = await put(`Bearer ${TOKEN}`);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await stylize(server.url, "late", await testImage(16, 16))).status, 200);
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 503, "still waiting for 'later'");

    // No admin call for this one: the background retry finds it once written.
    await trainAndExport(store, `${base}/later/`, { seed: 4, style: "later" });
    await waitFor("readiness", async () =>
      (await fetch(`${server.url}/v2/health/ready`)).status === 200 ? true : undefined,
    );
  });

  it("follows the styles file", async () => {
    writeFileSync(stylesFile, JSON.stringify({ fromfile: uriLate }));
    await waitFor("style from the file", async () => {
      const body = (await (await fetch(`${server.url}/v1/styles`)).json()) as {
        styles: { name: string; state: string }[];
      };
      return body.styles.some((s) => s.name === "fromfile" && s.state === "ready") ? true : undefined;
    });
    assert.equal((await stylize(server.url, "fromfile", await testImage(20, 20))).status, 200);
    // An invalid file is ignored: the styles stay.
    writeFileSync(stylesFile, "{not json");
    await new Promise((r) => setTimeout(r, 600));
    assert.equal((await stylize(server.url, "fromfile", await testImage(20, 20))).status, 200);
  });

  it("times out slow requests with 503 and keeps serving", async () => {
    // 640×640 on wasm takes several seconds, over the 1.5 s limit.
    const res = await stylize(server.url, "late", await testImage(640, 640));
    assert.equal(res.status, 503, res.body.toString());
    assert.equal(errorCode(res.body), "timeout");
    assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200);
    const next = await waitFor("a request after the timeout", async () => {
      const r = await stylize(server.url, "late", await testImage(16, 16));
      return r.status === 200 ? r : undefined;
    });
    assert.equal(next.status, 200);
  });

  it("stops gracefully on SIGTERM: requests in flight finish, then it exits 0", async () => {
    const inflight = stylize(server.url, "late", await testImage(160, 160));
    await waitFor("the request to be in flight", async () => {
      const text = await (await fetch(`${server.url}/metrics`)).text();
      return /^stylekube_inflight_requests 1$/m.test(text) ? true : undefined;
    });
    const code = server.stop();
    const res = await inflight;
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(await code, 0, server.output().slice(-2000));
    await assert.rejects(fetch(`${server.url}/v2/health/live`), "no longer listening");
  });
});
