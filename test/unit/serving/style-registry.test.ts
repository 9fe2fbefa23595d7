import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { createLogger } from "../../../common/log/logger.js";
import type { RgbImage } from "../../../common/images/codec.js";
import type { ModelDescription } from "../../../model/model-export.js";
import type { ModelHost } from "../../../serving/inference-pool.js";
import { ModelLoadError, StyleRegistry } from "../../../serving/style-registry.js";

/** A host whose loads the test completes by hand, recording what is loaded. */
class FakeHost implements ModelHost {
  next = 1;
  loaded = new Map<number, string>();
  available = new Set<string>();
  gates = new Map<string, () => void>();

  async load(uri: string): Promise<{ modelId: number; description: ModelDescription }> {
    const gate = this.gates.get(uri);
    if (gate) await new Promise<void>((r) => this.gates.set(uri, r));
    if (!this.available.has(uri)) throw new Error(`no model at ${uri}`);
    const modelId = this.next++;
    this.loaded.set(modelId, uri);
    return {
      modelId,
      description: {
        format: "stylekube.io/transformer-net/v1",
        normalization: "instance",
        upsampling: "upsample-conv",
        parameters: [],
        buffers: [],
        trainedSteps: 1,
        style: uri,
        imageSize: 256,
        createdAt: new Date().toISOString(),
      },
    };
  }
  unload(modelId: number): void {
    assert.ok(this.loaded.delete(modelId), `model ${modelId} unloaded twice or never loaded`);
  }
  run(): Promise<{ image: RgbImage; inferenceMs: number }> {
    throw new Error("not used");
  }
  /** Makes the next load of uri wait until release() is called. */
  hold(uri: string): () => void {
    this.gates.set(uri, () => {});
    return () => this.gates.get(uri)?.();
  }
}

const log = createLogger("test", "silent");
const options = { log, retryMs: 10, retryMaxMs: 20, maxStyles: 3 };
const tick = (ms = 30) => new Promise((r) => setTimeout(r, ms));

describe("StyleRegistry", () => {
  it("is ready only when every configured style has loaded, retrying the missing ones", async () => {
    const host = new FakeHost();
    host.available.add("file:///m/a/");
    const reg = new StyleRegistry(host, options);
    reg.configure({ a: "file:///m/a/", b: "file:///m/b/" });
    await tick();
    assert.deepEqual(reg.readiness(), { ready: false, waiting: ["b"] });
    assert.equal(reg.get("b")?.state, "failed");
    assert.match(reg.get("b")?.error ?? "", /no model/);
    host.available.add("file:///m/b/");
    await tick(80);
    assert.deepEqual(reg.readiness(), { ready: true, waiting: [] });
    assert.equal(reg.get("b")?.state, "ready");
    reg.close();
  });

  it("swaps a replaced model only after the new one loaded, and disposes the old after its last lease", async () => {
    const host = new FakeHost();
    host.available.add("file:///m/v1/").add("file:///m/v2/");
    const reg = new StyleRegistry(host, options);
    await reg.put("s", "file:///m/v1/");
    const lease = reg.acquire("s");
    assert.ok(lease);
    const release = host.hold("file:///m/v2/");
    const replacing = reg.put("s", "file:///m/v2/");
    await tick();
    const during = reg.acquire("s");
    assert.equal(during?.model.uri, "file:///m/v1/", "old model serves while the new one loads");
    release();
    const { created } = await replacing;
    assert.equal(created, false);
    const afterSwap = reg.acquire("s");
    assert.equal(afterSwap?.model.uri, "file:///m/v2/");
    afterSwap?.release();
    assert.ok([...host.loaded.values()].includes("file:///m/v1/"), "v1 still loaded: requests hold it");
    lease.release();
    lease.release(); // idempotent: must not unload twice (FakeHost asserts)
    assert.ok([...host.loaded.values()].includes("file:///m/v1/"), "one request still holds v1");
    during?.release();
    assert.deepEqual([...host.loaded.values()], ["file:///m/v2/"], "v1 disposed after its last request");
    reg.close();
  });

  it("disposes a removed style's model once in-flight requests release it", async () => {
    const host = new FakeHost();
    host.available.add("file:///m/a/");
    const reg = new StyleRegistry(host, options);
    await reg.put("a", "file:///m/a/");
    const lease = reg.acquire("a")!;
    assert.equal(reg.remove("a"), true);
    assert.equal(reg.acquire("a"), undefined);
    assert.equal(host.loaded.size, 1, "still loaded for the request in flight");
    lease.release();
    assert.equal(host.loaded.size, 0, "disposed after the last request");
    assert.equal(reg.remove("a"), false);
    reg.close();
  });

  it("put is all-or-nothing: a failed load leaves the style as it was", async () => {
    const host = new FakeHost();
    host.available.add("file:///m/a/");
    const reg = new StyleRegistry(host, options);
    await reg.put("a", "file:///m/a/");
    await assert.rejects(reg.put("a", "file:///m/missing/"), ModelLoadError);
    assert.equal(reg.get("a")?.modelURI, "file:///m/a/");
    assert.equal(reg.get("a")?.state, "ready");
    await assert.rejects(reg.put("new", "file:///m/missing/"), ModelLoadError);
    assert.equal(reg.has("new"), false);
    assert.deepEqual(reg.readiness(), { ready: true, waiting: [] });
    reg.close();
  });

  it("configure removes styles no longer declared and discards a load that was superseded", async () => {
    const host = new FakeHost();
    host.available.add("file:///m/a/").add("file:///m/b/");
    const reg = new StyleRegistry(host, options);
    const release = host.hold("file:///m/a/");
    reg.configure({ a: "file:///m/a/" });
    reg.configure({ b: "file:///m/b/" });
    release();
    await tick();
    assert.deepEqual(
      reg.list().map((s) => s.name),
      ["b"],
    );
    assert.deepEqual([...host.loaded.values()], ["file:///m/b/"], "the superseded load of a was unloaded");
    reg.close();
  });
});
