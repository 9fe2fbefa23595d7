// The model server as a real process over real HTTP, serving models made by
// the trainer's own code (a TransformerNet trained a few steps and exported
// with exportModel to a file:// store).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import sharp from "sharp";
import { FileStore } from "../../../common/storage/index.js";
import { loadModel } from "../../../model/model-export.js";
import { cropToRgb, padToNetworkInput } from "../../../serving/padding.js";
import {
  errorCode,
  handMadePng,
  pngBomb,
  startServerProcess,
  stylize,
  testImage,
  trainAndExport,
  type ServerProcess,
} from "./support.js";

const store = new FileStore({ durable: false });
const ADMIN_TOKEN = "server-test-admin-token";
const adminAuth = { authorization: `Bearer ${ADMIN_TOKEN}` };
const dir = mkdtempSync(join(tmpdir(), "stylekube-serving-"));
const base = pathToFileURL(dir).href;

/** What the network computes in this process for a PNG (lossless), to compare with the server's answer. */
async function expectedOutput(modelUri: string, png: Buffer): Promise<Uint8Array> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const { net } = await loadModel(store, modelUri);
  const padded = padToNetworkInput(new Uint8Array(data), info.width, info.height);
  const y = net.apply(tf.tensor4d(padded.data, [1, padded.height, padded.width, 3]));
  const out = cropToRgb(await y.data(), padded.width, info.width, info.height);
  y.dispose();
  net.dispose();
  return out;
}

async function rawPixels(image: Buffer): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

async function metric(url: string, name: string, labels = ""): Promise<number | undefined> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line === undefined ? undefined : Number(line.split(" ").pop());
}

describe("model server", { timeout: 300_000 }, () => {
  let server: ServerProcess;
  let uriA: string;
  let uriB: string;

  before(async () => {
    uriA = await trainAndExport(store, `${base}/a/`, { seed: 1, style: "a", steps: 2 });
    uriB = await trainAndExport(store, `${base}/b/`, { seed: 2, style: "b", normalization: "batch" });
    server = await startServerProcess({
      STYLEKUBE_ENGINE: "wasm",
      STYLEKUBE_STYLES: JSON.stringify({ a: uriA }),
      STYLEKUBE_CONCURRENCY: "1",
      STYLEKUBE_QUEUE_SIZE: "2",
      STYLEKUBE_MAX_BODY_BYTES: String(2 * 1024 * 1024),
      STYLEKUBE_MAX_PIXELS: "4000000",
      STYLEKUBE_REQUEST_TIMEOUT_MS: "60000",
      STYLEKUBE_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    const ready = await fetch(`${server.url}/v2/health/ready`);
    for (let i = 0; i < 100 && (await fetch(`${server.url}/v2/health/ready`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    void ready;
  });

  after(async () => {
    const code = await server?.stop();
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, `graceful exit; output:\n${server?.output().slice(-3000)}`);
  });

  it("lists its styles with the model's metadata", async () => {
    const res = await fetch(`${server.url}/v1/styles`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { engine: { engine: string }; styles: Record<string, unknown>[] };
    assert.equal(body.engine.engine, "wasm");
    assert.equal(body.styles.length, 1);
    const a = body.styles[0] as { name: string; state: string; loaded: Record<string, unknown> };
    assert.equal(a.name, "a");
    assert.equal(a.state, "ready");
    assert.equal(a.loaded.modelURI, uriA);
    assert.equal(a.loaded.trainedSteps, 2);
    assert.equal(a.loaded.normalization, "instance");
    assert.equal(a.loaded.upsampling, "upsample-conv");
    assert.equal(a.loaded.imageSize, 32);
    assert.ok(!Number.isNaN(Date.parse(String(a.loaded.loadedAt))));
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
  });

  it("stylises with the trained network: same pixels as the network in this process, size kept (not a multiple of 4)", async () => {
    const png = await testImage(37, 22, "png");
    const res = await stylize(server.url, "a", png, { contentType: "image/png", accept: "image/png" });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(res.headers.get("content-type"), "image/png");
    assert.match(res.headers.get("server-timing") ?? "", /inference;dur=/);
    const got = await rawPixels(res.body);
    assert.deepEqual([got.width, got.height], [37, 22]);
    // The server computes on wasm, this process on cpu: float rounding only.
    const diff = maxAbsDiff(got.data, await expectedOutput(uriA, png));
    assert.ok(diff <= 2, `max pixel difference ${diff}`);
  });

  it("answers in the format Accept asks for (JPEG by default), and downscales with maxSide", async () => {
    const jpeg = await testImage(80, 60);
    for (const [accept, format] of [
      [undefined, "jpeg"],
      ["*/*", "jpeg"],
      ["image/webp", "webp"],
      ["image/png;q=0.9, image/webp;q=0.1", "png"],
    ] as const) {
      const res = await stylize(server.url, "a", jpeg, accept ? { accept } : {});
      assert.equal(res.status, 200);
      assert.equal((await sharp(res.body).metadata()).format, format, `Accept ${accept}`);
    }
    const small = await stylize(server.url, "a", jpeg, { query: "?maxSide=20" });
    assert.equal(small.status, 200);
    const meta = await sharp(small.body).metadata();
    assert.deepEqual([meta.width, meta.height], [20, 15]);
    // Raw bytes with curl's default type and with no type at all are images too.
    assert.equal(
      (await stylize(server.url, "a", jpeg, { contentType: "application/x-www-form-urlencoded" })).status,
      200,
    );
    assert.equal(
      (await stylize(server.url, "a", jpeg, { contentType: "application/octet-stream" })).status,
      200,
    );
  });

  it("handles the smallest images (1×1, 1×9, 3×2)", async () => {
    for (const [w, h] of [
      [1, 1],
      [1, 9],
      [3, 2],
    ] as const) {
      const res = await stylize(server.url, "a", await testImage(w, h, "png"), { accept: "image/png" });
      assert.equal(res.status, 200, `${w}×${h}: ${res.body.toString()}`);
      const meta = await sharp(res.body).metadata();
      assert.deepEqual([meta.width, meta.height], [w, h]);
    }
  });

  it("refuses bad input with clear JSON errors and keeps serving", async () => {
    const good = await testImage(64, 48);
    const truncated = good.subarray(0, Math.floor(good.length / 2));
    const zeroByZero = handMadePng(0, 0, Buffer.alloc(0));
    const bomb = await pngBomb(20000, 20000);
    assert.ok(bomb.length < 2 * 1024 * 1024, `bomb is ${bomb.length} bytes, under the body limit`);
    const gif = Buffer.from("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7", "base64");
    const cases: {
      name: string;
      style?: string;
      body: Uint8Array;
      contentType?: string;
      accept?: string;
      query?: string;
      status: number;
      code: string;
    }[] = [
      { name: "truncated JPEG", body: truncated, status: 400, code: "invalid_image" },
      {
        name: "PNG decompression bomb 20000×20000",
        body: bomb,
        contentType: "image/png",
        status: 413,
        code: "image_too_large",
      },
      { name: "0×0 PNG", body: zeroByZero, contentType: "image/png", status: 400, code: "invalid_image" },
      {
        name: "garbage bytes",
        body: Buffer.from("definitely not an image"),
        status: 400,
        code: "invalid_image",
      },
      { name: "empty body", body: Buffer.alloc(0), status: 400, code: "invalid_image" },
      {
        name: "GIF (unsupported format)",
        body: gif,
        contentType: "application/octet-stream",
        status: 400,
        code: "invalid_image",
      },
      {
        name: "JSON content type",
        body: Buffer.from('{"image":"aGVsbG8="}'),
        contentType: "application/json",
        status: 415,
        code: "unsupported_media_type",
      },
      {
        name: "multipart form",
        body: good,
        contentType: "multipart/form-data; boundary=x",
        status: 415,
        code: "unsupported_media_type",
      },
      {
        name: "huge body (3 MB > 2 MB limit)",
        body: Buffer.alloc(3 * 1024 * 1024, 1),
        status: 413,
        code: "payload_too_large",
      },
      { name: "unknown style", style: "no-such-style", body: good, status: 404, code: "style_not_found" },
      { name: "invalid style name", style: "Not_A_Name", body: good, status: 404, code: "style_not_found" },
      {
        name: "Accept: application/json",
        body: good,
        accept: "application/json",
        status: 406,
        code: "not_acceptable",
      },
      { name: "maxSide=abc", body: good, query: "?maxSide=abc", status: 400, code: "invalid_request" },
      { name: "maxSide=0", body: good, query: "?maxSide=0", status: 400, code: "invalid_request" },
    ];
    for (const c of cases) {
      const res = await stylize(server.url, c.style ?? "a", c.body, {
        contentType: c.contentType ?? "image/jpeg",
        ...(c.accept ? { accept: c.accept } : {}),
        ...(c.query ? { query: c.query } : {}),
      });
      assert.equal(res.status, c.status, `${c.name}: ${res.body.toString().slice(0, 300)}`);
      assert.equal(res.headers.get("content-type")?.split(";")[0], "application/json", c.name);
      const body = JSON.parse(res.body.toString()) as { error: { code: string; message: string } };
      assert.equal(body.error.code, c.code, c.name);
      assert.ok(body.error.message.length > 10, `${c.name}: a message that says why`);
      // Still alive and still stylising after each.
      assert.equal((await fetch(`${server.url}/v2/health/live`)).status, 200, `live after ${c.name}`);
    }
    assert.equal((await stylize(server.url, "a", good)).status, 200, "serves after the bad inputs");
    assert.equal(server.child.exitCode, null);
    assert.ok(((await metric(server.url, "stylekube_errors_total", '{kind="invalid_image"}')) ?? 0) >= 5);
    assert.equal(await metric(server.url, "stylekube_errors_total", '{kind="image_too_large"}'), 1);
  });

  it("more simultaneous requests than concurrency + queue: the rest get 429 with Retry-After, the admitted ones 200", async () => {
    const image = await testImage(256, 256);
    const results = await Promise.all(Array.from({ length: 8 }, () => stylize(server.url, "a", image)));
    const ok = results.filter((r) => r.status === 200);
    const refused = results.filter((r) => r.status === 429);
    assert.equal(
      ok.length,
      3,
      `concurrency 1 + queue 2 admitted; statuses ${results.map((r) => r.status).join(",")}`,
    );
    assert.equal(refused.length, 5);
    for (const r of refused) {
      assert.equal(errorCode(r.body), "overloaded");
      assert.match(r.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
    }
    for (const r of ok) assert.equal((await sharp(r.body).metadata()).width, 256);
    assert.equal(await metric(server.url, "stylekube_inflight_requests"), 0);
    assert.equal(await metric(server.url, "stylekube_queue_depth"), 0);
  });

  it("exposes Prometheus metrics and an OpenAPI document", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      text,
      /^stylekube_stylize_duration_seconds_bucket\{le="[^"]+",style="a",status="200"\} \d+/m,
    );
    assert.match(text, /^stylekube_inference_duration_seconds_count\{style="a"\} \d+/m);
    assert.match(text, /^stylekube_inflight_requests 0$/m);
    assert.match(text, /^stylekube_queue_depth 0$/m);
    assert.match(text, /^stylekube_errors_total\{kind="overloaded"\} 5$/m);
    assert.match(text, /^stylekube_ready 1$/m);
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    assert.equal(doc.openapi, "3.1.0");
    for (const p of [
      "/v1/styles",
      "/v1/styles/{name}",
      "/v1/styles/{name}:stylize",
      "/v2/health/ready",
      "/v2/health/live",
    ]) {
      assert.ok(p in doc.paths, p);
    }
  });

  it("adds, replaces and removes styles while requests run, without failing any", async () => {
    const png = await testImage(48, 40, "png");
    const statuses: number[] = [];
    let running = true;
    // Two clients stylising "a" back to back during every change below (2 ≤ concurrency + queue, so no 429s).
    const clients = [0, 1].map(async () => {
      while (running) statuses.push((await stylize(server.url, "a", png, { accept: "image/png" })).status);
    });
    const put = (name: string, modelURI: string, auth: Record<string, string> = adminAuth) =>
      fetch(`${server.url}/v1/styles/${name}`, {
        method: "PUT",
        headers: { "content-type": "application/json", ...auth },
        body: JSON.stringify({ modelURI }),
      });

    // The admin API needs the token: none, or a wrong one, is a 401 that changes nothing.
    for (const auth of [{}, { authorization: "Bearer wrong-token" }] as Record<string, string>[]) {
      const refused = await put("b", uriB, auth);
      assert.equal(refused.status, 401, JSON.stringify(auth));
      assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="stylekube admin"');
      assert.equal(errorCode(Buffer.from(await refused.arrayBuffer())), "unauthorized");
    }
    assert.equal((await fetch(`${server.url}/v1/styles/b`)).status, 404, "b was not added");

    const added = await put("b", uriB);
    assert.equal(added.status, 201, await added.clone().text());
    assert.equal(
      ((await added.json()) as { loaded: { normalization: string } }).loaded.normalization,
      "batch",
    );
    const fromB = await stylize(server.url, "b", png, { accept: "image/png" });
    assert.equal(fromB.status, 200);

    // Replace a's model with b's: requests already holding a's model finish with it.
    const replaced = await put("a", uriB);
    assert.equal(replaced.status, 200);
    await new Promise((r) => setTimeout(r, 300));
    const fromA = await stylize(server.url, "a", png, { accept: "image/png" });
    assert.equal(fromA.status, 200);
    assert.ok(
      maxAbsDiff((await rawPixels(fromA.body)).data, (await rawPixels(fromB.body)).data) <= 0,
      "a now serves b's model",
    );

    // Remove b while two of its requests are in flight: both finish.
    const inflightB = [stylize(server.url, "b", png), stylize(server.url, "b", png)];
    await new Promise((r) => setTimeout(r, 50));
    assert.equal((await fetch(`${server.url}/v1/styles/b`, { method: "DELETE" })).status, 401);
    const removed = await fetch(`${server.url}/v1/styles/b`, { method: "DELETE", headers: adminAuth });
    assert.equal(removed.status, 204);
    for (const r of await Promise.all(inflightB))
      assert.ok([200, 429].includes(r.status), `in-flight b: ${r.status}`);
    assert.equal((await stylize(server.url, "b", png)).status, 404);

    // A load that fails changes nothing.
    const bad = await put("a", `${base}/does-not-exist/model/`);
    assert.equal(bad.status, 422);
    assert.equal(errorCode(Buffer.from(await bad.arrayBuffer())), "model_load_failed");

    running = false;
    await Promise.all(clients);
    assert.ok(statuses.length >= 4, `clients made ${statuses.length} requests`);
    assert.deepEqual(
      statuses.filter((s) => s !== 200),
      [],
      "every request during the changes succeeded",
    );
    const list = (await (await fetch(`${server.url}/v1/styles`)).json()) as {
      styles: { name: string; modelURI: string }[];
    };
    assert.deepEqual(
      list.styles.map((s) => [s.name, s.modelURI]),
      [["a", uriB]],
    );
  });
});
