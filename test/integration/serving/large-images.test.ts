// Large photos on the server's defaults (issue #14 item 4): a 768×768 JPEG on
// the wasm engine is stylised and the server keeps serving afterwards (it
// used to abort the inference thread's wasm heap: 500 for it and for every
// request after, while health stayed green), and the process's memory stays
// under a StyleServer replica's default 2Gi limit.
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
  waitFor,
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
    await waitFor(
      "ready",
      async () => ((await fetch(`${server.url}/v2/health/ready`)).ok ? true : undefined),
      60_000,
    );
  });

  after(async () => {
    if (server?.child.exitCode === null) await server.stop();
    rmSync(dir, { recursive: true, force: true });
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
