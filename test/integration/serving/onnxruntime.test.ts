// The model server on engine onnxruntime: the same
// HTTP API on model.onnx, the engine reported on /, /v2 and in the metrics,
// bad input still 4xx, an image above the engine's pixel limit 413 naming
// it (instance norm) or served in bands (batch norm, 413 only when too wide
// for a band),
// a model whose ONNX file is corrupt (checksums intact: a broken
// export) refused at load with a message naming the style while the other
// style keeps serving, and a model ONNX Runtime loads but fails to run:
// only that request fails (500), the worker is replaced, readiness is 503
// until the replacement serves, then everything serves again.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { ServerMetadataSchema } from "../../../common/api/server-metadata.js";
import { FileStore, joinUri, writeWithManifest } from "../../../common/storage/index.js";
import { GraphBuilder } from "../../../model/onnx/graph.js";
import { serializeModel } from "../../../model/onnx/serialize.js";
import {
  errorCode,
  startServerProcess,
  stylize,
  testImage,
  trainAndExport,
  type ServerProcess,
  waitUntilReady,
} from "./support.js";

const store = new FileStore({ durable: false });
const dir = mkdtempSync(join(tmpdir(), "stylekube-serving-ort-"));
const base = pathToFileURL(dir).href;
const TOKEN = "ort-admin-token";

/**
 * A valid ONNX model with the served model's input and output that ONNX
 * Runtime loads and cannot run: it reshapes [1, 3, h, w] to 7 values.
 */
function failsAtRunOnnx(): Uint8Array {
  const g = new GraphBuilder("fails_at_run");
  const images = g.input("images", ["batch", 3, "height", "width"]);
  g.namedOutput(g.op("Reshape", [images, g.int64s([7])], {}, [7]), "stylized");
  return serializeModel(g, { producer: "stylekube-test", producerVersion: "0" });
}

/** A copy of the model at `from` whose model.onnx is `onnx` (manifest rewritten to match). */
async function withOnnx(from: string, to: string, onnx: Uint8Array): Promise<string> {
  await writeWithManifest(
    store,
    to,
    [
      { name: "model.json", body: await store.getBytes(joinUri(from, "model.json")) },
      { name: "weights.bin", body: await store.getBytes(joinUri(from, "weights.bin")) },
      { name: "model.onnx", body: Buffer.from(onnx) },
    ],
    { kind: "model" },
  );
  return to;
}

describe("model server on onnxruntime", { timeout: 300_000 }, () => {
  let server: ServerProcess;
  let corruptUri: string;

  before(async () => {
    const good = await trainAndExport(store, `${base}/good/`, { seed: 7, style: "good" });
    const bn = await trainAndExport(store, `${base}/bn/`, { seed: 8, style: "bn", normalization: "batch" });
    // The same model with garbage in model.onnx, written with a matching manifest.
    corruptUri = await withOnnx(
      good,
      `${base}/corrupt/model/`,
      Buffer.from("this is not an ONNX protobuf".repeat(10)),
    );
    const fails = await withOnnx(good, `${base}/fails/model/`, failsAtRunOnnx());
    server = await startServerProcess({
      STYLEKUBE_ENGINE: "onnxruntime",
      STYLEKUBE_STYLES: JSON.stringify({ good, bn, fails }),
      STYLEKUBE_ONNX_MAX_PIXELS: String(128 * 128),
      STYLEKUBE_ADMIN_TOKEN: TOKEN,
    });
    await waitUntilReady(server);
  });

  after(async () => {
    if (server?.child.exitCode === null) await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("stylises with ONNX Runtime and reports the engine on / and in the metrics", async () => {
    const res = await stylize(server.url, "good", await testImage(64, 48));
    assert.equal(res.status, 200, res.body.toString().slice(0, 300));
    assert.equal(res.headers.get("x-image-size"), "64x48");
    const info = (await (await fetch(`${server.url}/`)).json()) as {
      engine: { engine: string; providers: string };
    };
    assert.equal(info.engine.engine, "onnxruntime");
    assert.equal(info.engine.providers, "cpu");
    const v2 = ServerMetadataSchema.parse(await (await fetch(`${server.url}/v2`)).json());
    assert.deepEqual([v2.name, v2.engine.engine, v2.engine.provider], ["stylekube", "onnxruntime", "cpu"]);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(
      metrics,
      /stylekube_engine_info\{engine="onnxruntime",backend="onnxruntime",providers="cpu",provider="cpu"\} 1/,
    );
    assert.match(metrics, /stylekube_healthy_workers 1/);
  });

  it("answers bad input with 4xx, and images above the pixel limit with 413 naming it or, batch norm, in bands", async () => {
    const bad = await stylize(server.url, "good", Buffer.from("not an image"));
    assert.equal(bad.status, 400);
    assert.equal(errorCode(bad.body), "invalid_image");
    const big = await stylize(server.url, "good", await testImage(200, 200));
    assert.equal(big.status, 413);
    assert.equal(errorCode(big.body), "image_too_large");
    // Instance norm (the "good" model): whole image or 413.
    assert.match(big.body.toString(), /STYLEKUBE_ONNX_MAX_PIXELS=16384 .*\?maxSide=128/);
    const fits = await stylize(server.url, "good", await testImage(200, 200), { query: "?maxSide=128" });
    assert.equal(fits.status, 200, fits.body.toString().slice(0, 300));
    // Batch norm: above the limit in bands (≥ 172 rows of 16384 pixels: at most 92 px wide).
    const wide = await stylize(server.url, "bn", await testImage(200, 200));
    assert.equal(wide.status, 413);
    assert.match(wide.body.toString(), /at most 92 px wide; send \?maxSide=92/);
    const tall = await stylize(server.url, "bn", await testImage(64, 400));
    assert.equal(tall.status, 200, tall.body.toString().slice(0, 300));
    assert.equal(tall.headers.get("x-image-size"), "64x400");
  });

  it("refuses a corrupt ONNX file at load, naming the style, while the other style keeps serving", async () => {
    const res = await fetch(`${server.url}/v1/styles/broken`, {
      method: "PUT",
      headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ modelURI: corruptUri }),
    });
    const body = await res.text();
    assert.ok(res.status >= 400 && res.status < 500, `${res.status} ${body}`);
    assert.match(body, /style broken: cannot load .*model\.onnx is not a valid ONNX model/);
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
    const ok = await stylize(server.url, "good", await testImage(32, 32));
    assert.equal(ok.status, 200);
  });

  // Last: it replaces the server's inference worker.
  it("fails only the request ONNX Runtime cannot run, is not ready until its worker is replaced, then serves", async () => {
    const failed = await stylize(server.url, "fails", await testImage(32, 32));
    assert.equal(failed.status, 500, failed.body.toString().slice(0, 300));
    assert.equal(errorCode(failed.body), "inference_failed");
    // The replacement thread needs its engine and all three models (seconds); until then, not ready.
    const ready = await fetch(`${server.url}/v2/health/ready`);
    const readiness = (await ready.json()) as { healthyWorkers: number };
    assert.deepEqual([ready.status, readiness.healthyWorkers], [503, 0]);
    await waitUntilReady(server, "ready again");
    const ok = await stylize(server.url, "good", await testImage(32, 32));
    assert.equal(ok.status, 200, ok.body.toString().slice(0, 300));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /stylekube_inference_restarts_total\{reason="engine_failed"\} 1/);
    assert.match(metrics, /stylekube_healthy_workers 1/);
  });
});
