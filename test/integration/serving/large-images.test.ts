// Large photos on the server's defaults, within a
// StyleServer replica's default 2Gi limit (the process's peak RSS):
// - wasm: a 768×768 JPEG is stylised and the server keeps serving afterwards
//   (it used to abort the inference thread's wasm heap: 500 for it and for
//   every request after, while health stayed green);
// - onnxruntime: 768×768 is stylised, 2048×2048 on an instance-norm model is
//   413 naming the engine's pixel limit, and three styles that each ran a
//   1024×1024 image do not keep three 1024² memory arenas (they held
//   3.6 GiB before serving/onnx-arena-budget.ts).
import assert from "node:assert/strict";
import { readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import { FileStore } from "../../../common/storage/index.js";
import {
  startServerProcess,
  stylize,
  testImage,
  trainAndExport,
  type ServerProcess,
  waitUntilReady,
} from "./support.js";

const store = new FileStore({ durable: false });
const dir = mkdtempSync(join(tmpdir(), "stylekube-serving-large-"));
const GI = 1024 ** 3;

/** Resident memory of a process, from /proc (Linux). */
function rssBytes(pid: number): number {
  const kb = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  assert.ok(kb, "VmHWM in /proc/<pid>/status");
  return Number(kb) * 1024;
}

after(() => rmSync(dir, { recursive: true, force: true }));

describe("large images on the default server", { timeout: 600_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    const uri = await trainAndExport(store, `${pathToFileURL(dir).href}/m/`, { seed: 5, style: "big" });
    // The defaults a StyleServer runs with, wasm named so the test does not
    // depend on a GPU, and a generous request timeout: this checks memory and
    // recovery, not speed (2 shared cores).
    server = await startServerProcess({
      STYLEKUBE_ENGINE: "wasm",
      STYLEKUBE_STYLES: JSON.stringify({ big: uri }),
      STYLEKUBE_REQUEST_TIMEOUT_MS: "400000",
    });
    await waitUntilReady(server);
  });

  after(async () => {
    if (server?.child.exitCode === null) await server.stop();
  });

  it("stylises a 768×768 JPEG, then still serves small ones, within the 2Gi default limit", async () => {
    const big = await stylize(server.url, "big", await testImage(768, 768));
    assert.equal(big.status, 200, big.body.toString().slice(0, 300));
    assert.equal(big.headers.get("x-image-size"), "768x768");
    const small = await stylize(server.url, "big", await testImage(64, 64));
    assert.equal(small.status, 200, small.body.toString().slice(0, 300));
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
    const peak = rssBytes(server.child.pid!);
    assert.ok(peak < 2 * GI, `peak RSS ${Math.round(peak / 2 ** 20)} MiB, over the 2Gi default limit`);
  });
});

describe("large images on the default onnxruntime server", { timeout: 600_000 }, () => {
  let server: ServerProcess;

  before(async () => {
    const styles: Record<string, string> = {};
    for (const [i, style] of ["one", "two", "three"].entries()) {
      styles[style] = await trainAndExport(store, `${pathToFileURL(dir).href}/${style}/`, {
        seed: 10 + i,
        style,
      });
    }
    server = await startServerProcess({
      STYLEKUBE_ENGINE: "onnxruntime",
      STYLEKUBE_STYLES: JSON.stringify(styles),
      STYLEKUBE_REQUEST_TIMEOUT_MS: "400000",
    });
    await waitUntilReady(server);
  });

  after(async () => {
    if (server?.child.exitCode === null) await server.stop();
  });

  it("stylises 768×768, answers 2048×2048 (instance norm) with 413 naming the limit, then still serves", async () => {
    const big = await stylize(server.url, "one", await testImage(768, 768));
    assert.equal(big.status, 200, big.body.toString().slice(0, 300));
    const huge = await stylize(server.url, "one", await testImage(2048, 2048));
    assert.equal(huge.status, 413);
    assert.match(huge.body.toString(), /STYLEKUBE_ONNX_MAX_PIXELS=1048576 pixels.*\?maxSide=1024/);
    const small = await stylize(server.url, "one", await testImage(64, 64));
    assert.equal(small.status, 200, small.body.toString().slice(0, 300));
    assert.equal((await fetch(`${server.url}/v2/health/ready`)).status, 200);
  });

  it("serves 1024×1024 on three styles within the 2Gi default limit", async () => {
    for (const style of ["one", "two", "three"]) {
      const res = await stylize(server.url, style, await testImage(1024, 1024));
      assert.equal(res.status, 200, `${style}: ${res.body.toString().slice(0, 300)}`);
    }
    const peak = rssBytes(server.child.pid!);
    assert.ok(peak < 2 * GI, `peak RSS ${Math.round(peak / 2 ** 20)} MiB, over the 2Gi default limit`);
    // Stopped while the last style's session is being recycled (a 1024² run
    // is above the keep limit): a clean exit, not SIGABRT from ending the
    // worker thread while ONNX Runtime creates a session.
    assert.equal(await server.stop(), 0);
  });
});
