import assert from "node:assert/strict";
import { mkdtemp, readdir, rm, symlink, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { pathToFileURL } from "node:url";
import { FileStore, StorageError, TEMP_SUFFIX, type ListEntry } from "../../../common/storage/index.js";
import { storeContract } from "./contract.js";

storeContract("file://", async () => {
  const dir = await mkdtemp(join(tmpdir(), "stylekube-file-contract-"));
  return {
    store: new FileStore(),
    root: `${pathToFileURL(dir).href}/`,
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
});

describe("FileStore specifics", () => {
  let dir: string;
  let root: string;
  const store = new FileStore();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stylekube-file-"));
    root = pathToFileURL(dir).href;
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function list(prefix: string): Promise<ListEntry[]> {
    const out: ListEntry[] = [];
    for await (const e of store.list(prefix)) out.push(e);
    return out;
  }

  it("leaves no temp file behind after a failed streamed put, and never lists temp files", async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error("boom"));
      },
    });
    await assert.rejects(store.put(`${root}/t/a.bin`, failing), /boom/);
    assert.deepEqual(await readdir(join(dir, "t")), []);
    // A temp file from a crashed writer is invisible to list.
    await writeFile(join(dir, "t", `.b.bin.1234${TEMP_SUFFIX}`), "partial");
    await store.put(`${root}/t/c.bin`, "c");
    assert.deepEqual(
      (await list(`${root}/t/`)).map((e) => e.relativeKey),
      ["c.bin"],
    );
  });

  it("reports a put under a path whose parent is a file as a StorageError with the errno code", async () => {
    await store.put(`${root}/p/file`, "x");
    await assert.rejects(
      store.put(`${root}/p/file/child`, "y"),
      (e: unknown) => e instanceof StorageError && (e.code === "ENOTDIR" || e.code === "EEXIST"),
    );
  });

  it("treats a directory as not-an-object", async () => {
    await mkdir(join(dir, "d", "sub"), { recursive: true });
    assert.equal(await store.exists(`${root}/d/sub`), false);
    await assert.rejects(store.get(`${root}/d/sub`), /not found/);
    await store.delete(`${root}/d/sub`); // no-op, directory stays
    assert.deepEqual(await readdir(join(dir, "d")), ["sub"]);
  });

  it("follows symlinks to files but not to directories", async () => {
    await store.put(`${root}/s/real/f`, "f");
    await symlink(join(dir, "s", "real", "f"), join(dir, "s", "link-to-file"));
    await symlink(join(dir, "s", "real"), join(dir, "s", "link-to-dir"));
    assert.deepEqual(
      (await list(`${root}/s/`)).map((e) => e.relativeKey),
      ["link-to-file", "real/f"],
    );
  });

  it("removes emptied directories on deletePrefix, as S3 has no directories", async () => {
    await store.put(`${root}/e/x/y/z`, "z");
    await store.put(`${root}/e/keep`, "k");
    assert.equal(await store.deletePrefix(`${root}/e/x/`), 1);
    assert.deepEqual(await readdir(join(dir, "e")), ["keep"]);
  });

  it("refuses to deletePrefix the filesystem root", async () => {
    await assert.rejects(store.deletePrefix("file:///"), /refusing/);
  });
});

describe("FileStore abort", () => {
  it("an aborted streamed put rejects promptly, even with a stalled source, and leaves nothing", async () => {
    const dir = await mkdtemp(join(tmpdir(), "stylekube-abort-"));
    try {
      const store = new FileStore();
      const stalled = new Readable({ read() {} }); // never produces data
      const controller = new AbortController();
      const put = store.put(`${pathToFileURL(dir).href}/x.bin`, stalled, { signal: controller.signal });
      setTimeout(() => controller.abort(new Error("cancelled")), 20);
      await assert.rejects(put, StorageError);
      assert.ok(stalled.destroyed);
      assert.deepEqual(await readdir(dir), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
