import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import {
  FileStore,
  joinUri,
  ManifestError,
  ManifestWriteError,
  NotFoundError,
  readManifest,
  StorageError,
  writeWithManifest,
  type Body,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from "../../../common/storage/index.js";

type Event = { op: "start" | "done" | "failed" | "delete"; uri: string };

/** Wraps a store, records the order of writes, and fails puts whose URI matches `failOn`. */
class RecordingStore {
  readonly events: Event[] = [];
  inFlight = 0;
  maxInFlight = 0;
  constructor(
    private readonly inner: ObjectStore,
    private readonly failOn?: RegExp,
  ) {}
  wrap(): ObjectStore {
    const put = async (uri: string, body: Body, options?: PutOptions): Promise<PutResult> => {
      this.events.push({ op: "start", uri });
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      try {
        await sleep(5); // let writes overlap
        if (this.failOn?.test(uri)) throw new StorageError(`injected failure for ${uri}`, { op: "put", uri });
        const res = await this.inner.put(uri, body, options);
        this.events.push({ op: "done", uri });
        return res;
      } catch (e) {
        this.events.push({ op: "failed", uri });
        throw e;
      } finally {
        this.inFlight--;
      }
    };
    const del = async (uri: string): Promise<void> => {
      this.events.push({ op: "delete", uri });
      await this.inner.delete(uri);
    };
    return Object.assign(Object.create(this.inner) as ObjectStore, { put, delete: del });
  }
}

const Data = z.object({ step: z.number().int(), note: z.string() });

describe("writeWithManifest / readManifest", () => {
  let dir: string;
  let root: string;
  const file = new FileStore({ durable: false });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stylekube-manifest-"));
    root = pathToFileURL(dir).href;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const objects = (n: number) =>
    Array.from({ length: n }, (_, i) => ({ name: `part-${i}.bin`, body: Buffer.alloc(100 + i, i) }));

  it("writes every object (bounded in parallel) before the manifest, and the manifest last", async () => {
    const rec = new RecordingStore(file);
    const prefix = joinUri(root, "ok");
    const record = await writeWithManifest(
      rec.wrap(),
      prefix,
      objects(12),
      { step: 1, note: "n" },
      { concurrency: 3 },
    );
    const manifest = joinUri(prefix, "manifest.json");
    const puts = rec.events.filter((e) => e.op !== "delete");
    assert.equal(puts.length, 26); // 13 starts + 13 dones
    const lastStart = puts.findIndex((e) => e.op === "start" && e.uri === manifest);
    assert.equal(lastStart, puts.length - 2, "the manifest write starts after everything else");
    const objectDones = puts.filter((e) => e.op === "done" && e.uri !== manifest);
    assert.equal(objectDones.length, 12);
    assert.ok(
      puts.slice(0, lastStart).filter((e) => e.op === "done").length === 12,
      "all 12 objects were complete before the manifest write started",
    );
    assert.ok(rec.maxInFlight > 1, "writes overlapped");
    assert.ok(rec.maxInFlight <= 3, `concurrency bound exceeded: ${rec.maxInFlight}`);
    // The stale manifest is removed before any object is written.
    assert.deepEqual(rec.events[0], { op: "delete", uri: manifest });
    assert.equal(record.objects.length, 12);
    assert.equal(record.objects[3]!.name, "part-3.bin");
    assert.equal(record.objects[3]!.size, 103);
    assert.equal(record.objects[3]!.sha256, createHash("sha256").update(Buffer.alloc(103, 3)).digest("hex"));
    const read = await readManifest(file, prefix, Data, { verify: "sha256" });
    assert.deepEqual(read.data, { step: 1, note: "n" });
    assert.deepEqual(read.objects, record.objects);
  });

  it("a failed object write leaves no manifest, stops starting new writes, and says which object failed", async () => {
    const prefix = joinUri(root, "fail");
    // A previous, complete version exists: its manifest must go away too.
    await writeWithManifest(file, prefix, objects(2), { step: 0, note: "old" });
    const rec = new RecordingStore(file, /part-4\.bin$/);
    await assert.rejects(
      writeWithManifest(rec.wrap(), prefix, objects(40), { step: 1, note: "new" }, { concurrency: 2 }),
      (e: unknown) => {
        assert.ok(e instanceof ManifestWriteError);
        assert.equal(e.objectName, "part-4.bin");
        assert.match(e.message, /part-4\.bin.*manifest was not written.*injected failure/);
        return true;
      },
    );
    assert.equal(await file.exists(joinUri(prefix, "manifest.json")), false);
    assert.ok(!rec.events.some((e) => e.uri.endsWith("manifest.json") && e.op === "start"));
    const started = rec.events.filter((e) => e.op === "start").length;
    assert.ok(started < 40, `writes kept starting after the failure (${started} of 40)`);
    await assert.rejects(readManifest(file, prefix, Data), NotFoundError);
  });

  it("aborts other in-flight streamed writes when one fails", async () => {
    const prefix = joinUri(root, "abort");
    let slowDestroyed = false;
    const slow = new Readable({
      read() {
        setTimeout(() => this.push(Buffer.alloc(1024)), 20); // never ends on its own
      },
      destroy(err, cb) {
        slowDestroyed = true;
        cb(err);
      },
    });
    const rec = new RecordingStore(file, /bad\.bin$/);
    await assert.rejects(
      writeWithManifest(
        rec.wrap(),
        prefix,
        [
          { name: "slow.bin", body: slow },
          { name: "bad.bin", body: "x" },
        ],
        { step: 1, note: "" },
      ),
      ManifestWriteError,
    );
    assert.ok(slowDestroyed, "the slow stream was not aborted");
    assert.equal(await file.exists(joinUri(prefix, "slow.bin")), false);
    assert.equal(await file.exists(joinUri(prefix, "manifest.json")), false);
  });

  it("rejects bad and duplicate object names before writing anything", async () => {
    const prefix = joinUri(root, "names");
    for (const name of ["", "/abs", "a/../b", "dir/", "manifest.json"]) {
      await assert.rejects(writeWithManifest(file, prefix, [{ name, body: "x" }], {}), StorageError, name);
    }
    await assert.rejects(
      writeWithManifest(
        file,
        prefix,
        [
          { name: "a", body: "x" },
          { name: "a", body: "y" },
        ],
        {},
      ),
      /listed twice/,
    );
  });

  it("validates data with the caller's schema and the envelope", async () => {
    const prefix = joinUri(root, "schema");
    await writeWithManifest(file, prefix, [], { step: "not a number", note: "x" });
    await assert.rejects(readManifest(file, prefix, Data), (e: unknown) => {
      assert.ok(e instanceof ManifestError);
      assert.match(e.message, /data\.step/);
      return true;
    });
    await writeFile(join(dir, "schema", "manifest.json"), "{not json");
    await assert.rejects(readManifest(file, prefix, Data), /not valid JSON/);
    await writeFile(join(dir, "schema", "manifest.json"), JSON.stringify({ kind: "other", data: {} }));
    await assert.rejects(readManifest(file, prefix, Data), /invalid manifest: kind/);
  });

  it("verify detects a changed, truncated or missing object", async () => {
    const prefix = joinUri(root, "verify");
    await writeWithManifest(
      file,
      prefix,
      [
        { name: "a.bin", body: "aaaa" },
        { name: "b.bin", body: "bbbb" },
        { name: "c/d.bin", body: "dddd" },
      ],
      { step: 2, note: "" },
    );
    await readManifest(file, prefix, Data, { verify: "sha256" });
    await file.put(joinUri(prefix, "a.bin"), "aaaX"); // same size, other bytes
    await readManifest(file, prefix, Data, { verify: "size" }); // size alone cannot tell
    await file.put(joinUri(prefix, "b.bin"), "bb");
    await file.delete(joinUri(prefix, "c/d.bin"));
    await assert.rejects(readManifest(file, prefix, Data, { verify: "sha256" }), (e: unknown) => {
      assert.ok(e instanceof ManifestError);
      assert.equal(e.problems.length, 3);
      assert.match(e.problems[0]!, /^a\.bin: sha256/);
      assert.match(e.problems[1]!, /^b\.bin: size 2, manifest says 4/);
      assert.match(e.problems[2]!, /^c\/d\.bin: missing/);
      return true;
    });
  });
});
