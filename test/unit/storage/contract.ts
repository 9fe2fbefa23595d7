// The ObjectStore contract, written once and registered for every backend:
// test/unit/storage/file.test.ts runs it on a temp dir, and
// test/integration/storage/s3.test.ts against a real MinIO. A behaviour that
// differs between backends is a bug in one of them.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { z } from "zod";
import {
  forEachLimit,
  joinUri,
  NotFoundError,
  parseUri,
  readAll,
  readManifest,
  StorageError,
  writeWithManifest,
  type ListEntry,
  type ObjectStore,
} from "../../../common/storage/index.js";

export interface ContractFixture {
  store: ObjectStore;
  /** A fresh, empty prefix URI ending in "/" that this run owns. */
  root: string;
  cleanup?: () => Promise<void>;
}

export interface ContractOptions {
  /** Size of the streamed large object; ≥ 20 MiB makes S3 use several multipart parts. */
  largeBytes?: number;
  /** Keys for the listing test; > 1000 crosses S3's page size. */
  manyKeys?: number;
}

async function collect(it: AsyncIterable<ListEntry>): Promise<ListEntry[]> {
  const out: ListEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

function byteOrder(keys: string[]): string[] {
  return [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** A Readable of `total` pseudo-random bytes in odd-sized chunks, and its sha256 once consumed. */
function randomStream(total: number, chunk = 1_000_003): { stream: Readable; sha256: () => string } {
  const hash = createHash("sha256");
  let left = total;
  const stream = Readable.from(
    (function* () {
      while (left > 0) {
        const n = Math.min(chunk, left);
        const buf = randomBytes(n);
        hash.update(buf);
        left -= n;
        yield buf;
      }
    })(),
  );
  return { stream, sha256: () => hash.digest("hex") };
}

function failingStream(afterBytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= afterBytes) {
        this.destroy(new Error("source failed on purpose"));
        return;
      }
      sent += 1024;
      this.push(Buffer.alloc(1024, 7));
    },
  });
}

export function storeContract(
  name: string,
  setup: () => Promise<ContractFixture>,
  options: ContractOptions = {},
): void {
  const largeBytes = options.largeBytes ?? 21 * 1024 * 1024 + 123;
  const manyKeys = options.manyKeys ?? 1005;

  describe(`ObjectStore contract: ${name}`, () => {
    let store: ObjectStore;
    let root: string;
    let fixture: ContractFixture;
    const u = (...parts: string[]): string => joinUri(root, ...parts);

    before(async () => {
      fixture = await setup();
      store = fixture.store;
      root = fixture.root;
      assert.ok(root.endsWith("/"), `contract root must end with '/': ${root}`);
    });
    after(async () => {
      // Whatever a failed test left behind, then the fixture's own cleanup.
      await store?.deletePrefix(root).catch(() => undefined);
      await fixture?.cleanup?.();
    });

    it("round-trips Buffer, Uint8Array and string bodies", async () => {
      const cases: [string, Buffer | Uint8Array | string, Buffer][] = [
        ["buf.bin", Buffer.from([0, 1, 2, 255]), Buffer.from([0, 1, 2, 255])],
        ["u8.bin", new Uint8Array([9, 8, 7]), Buffer.from([9, 8, 7])],
        ["str.txt", "héllo wörld\n", Buffer.from("héllo wörld\n", "utf8")],
        ["empty.bin", Buffer.alloc(0), Buffer.alloc(0)],
      ];
      for (const [key, body, expected] of cases) {
        const res = await store.put(u(key), body);
        assert.equal(res.size, expected.length, key);
        assert.equal(res.uri, u(key));
        assert.deepEqual(await store.getBytes(u(key)), expected, key);
        assert.deepEqual(await readAll(await store.get(u(key))), expected, key);
      }
    });

    it("streams a Readable body in and out", async () => {
      const chunks = Array.from({ length: 50 }, (_, i) => Buffer.alloc(777, i));
      const res = await store.put(u("stream.bin"), Readable.from(chunks), {
        contentType: "application/x-test",
      });
      const expected = Buffer.concat(chunks);
      assert.equal(res.size, expected.length);
      const got = await readAll(await store.get(u("stream.bin")));
      assert.ok(got.equals(expected), "bytes differ");
      const info = await store.stat(u("stream.bin"));
      assert.equal(info.size, expected.length);
      assert.ok(info.lastModified instanceof Date && !Number.isNaN(info.lastModified.getTime()));
      assert.ok(
        Math.abs(info.lastModified.getTime() - Date.now()) < 10 * 60_000,
        "lastModified is not recent",
      );
      // The file backend keeps no metadata; S3 must keep what it was given.
      if (info.contentType !== undefined) assert.equal(info.contentType, "application/x-test");
    });

    it("overwrites an existing object", async () => {
      await store.put(u("over.txt"), "first version, longer");
      await store.put(u("over.txt"), "second");
      assert.equal((await store.getBytes(u("over.txt"))).toString(), "second");
      assert.equal((await store.stat(u("over.txt"))).size, 6);
    });

    it("reports a missing object as NotFoundError from get, getBytes and stat, and false from exists", async () => {
      const missing = u("no/such/object");
      await assert.rejects(store.get(missing), NotFoundError);
      await assert.rejects(store.getBytes(missing), NotFoundError);
      await assert.rejects(
        store.stat(missing),
        (e: unknown) => e instanceof NotFoundError && e.uri === missing,
      );
      assert.equal(await store.exists(missing), false);
      await store.put(u("present"), "x");
      assert.equal(await store.exists(u("present")), true);
    });

    it("reads byte ranges", async () => {
      const data = Buffer.from("0123456789abcdefghij");
      await store.put(u("range.txt"), data);
      assert.equal((await store.getBytes(u("range.txt"), { offset: 5, length: 4 })).toString(), "5678");
      assert.equal((await store.getBytes(u("range.txt"), { offset: 15 })).toString(), "fghij");
      assert.equal((await store.getBytes(u("range.txt"), { length: 3 })).toString(), "012");
      assert.equal((await store.getBytes(u("range.txt"), { offset: 18, length: 100 })).toString(), "ij");
      assert.equal((await store.getBytes(u("range.txt"), { offset: 3, length: 0 })).length, 0);
      assert.equal((await store.getBytes(u("range.txt"), { offset: 20 })).length, 0);
      await assert.rejects(store.getBytes(u("range.txt"), { offset: -1 }), StorageError);
      await assert.rejects(store.getBytes(u("nope.txt"), { offset: 0, length: 0 }), NotFoundError);
    });

    it("handles keys with spaces and non-ASCII characters", async () => {
      const uri = u("dir with space/ünïcødé ✓.txt");
      await store.put(uri, "odd");
      assert.equal((await store.getBytes(uri)).toString(), "odd");
      const listed = await collect(store.list(u("dir with space/")));
      assert.deepEqual(
        listed.map((e) => e.relativeKey),
        ["ünïcødé ✓.txt"],
      );
      assert.equal(listed[0]!.uri, uri);
      assert.deepEqual(parseUri(listed[0]!.uri), parseUri(uri));
    });

    it("lists by string prefix in key byte order, with sizes and relative keys", async () => {
      const keys = ["a/1", "a/2", "a-b", "a/b/c", "ab", "b/1", "a/10"];
      await forEachLimit(keys, 4, async (k) => {
        await store.put(u("ls", k), Buffer.alloc(k.length, 1));
      });
      const all = await collect(store.list(u("ls/")));
      assert.deepEqual(
        all.map((e) => e.relativeKey),
        byteOrder(keys),
      );
      for (const e of all) {
        assert.equal(e.size, e.relativeKey.length, e.relativeKey);
        assert.equal(e.uri, u("ls", e.relativeKey));
        assert.ok(e.key.endsWith(`ls/${e.relativeKey}`), e.key);
        assert.ok(e.lastModified instanceof Date);
      }
      // A string prefix, not only directories: "ls/a" matches "a-b" and "ab" too.
      const a = await collect(store.list(`${u("ls")}/a`));
      assert.deepEqual(
        a.map((e) => e.relativeKey),
        byteOrder(["/1", "/2", "-b", "/b/c", "b", "/10"]),
      );
      const dir = await collect(store.list(u("ls", "a/")));
      assert.deepEqual(
        dir.map((e) => e.relativeKey),
        ["1", "10", "2", "b/c"],
      );
      assert.deepEqual(await collect(store.list(u("ls", "zzz/"))), []);
      assert.deepEqual(await collect(store.list(u("does-not-exist/"))), []);
    });

    it("deletes one object, and deleting a missing one succeeds", async () => {
      await store.put(u("del/x"), "x");
      await store.put(u("del/y"), "y");
      await store.delete(u("del/x"));
      assert.equal(await store.exists(u("del/x")), false);
      assert.equal(await store.exists(u("del/y")), true);
      await store.delete(u("del/x"));
      await store.delete(u("del/never-existed"));
    });

    it("deletes by prefix, and only that prefix", async () => {
      await forEachLimit(["dp/a/1", "dp/a/2/3", "dp/ab", "dp/b"], 4, async (k) => {
        await store.put(u(k), k);
      });
      assert.equal(await store.deletePrefix(u("dp/a/")), 2);
      assert.deepEqual(
        (await collect(store.list(u("dp/")))).map((e) => e.relativeKey),
        ["ab", "b"],
      );
      assert.equal(await store.deletePrefix(u("dp/")), 2);
      assert.deepEqual(await collect(store.list(u("dp/"))), []);
      assert.equal(await store.deletePrefix(u("dp/")), 0);
    });

    it("leaves no object behind when the source stream fails", async () => {
      await assert.rejects(store.put(u("broken.bin"), failingStream(64 * 1024)), StorageError);
      assert.equal(await store.exists(u("broken.bin")), false);
      assert.deepEqual(
        (await collect(store.list(u("broken")))).map((e) => e.relativeKey),
        [],
      );
    });

    it("refuses URIs of the other scheme and object URIs ending in '/'", async () => {
      const other = root.startsWith("s3://") ? "file:///tmp/x" : "s3://some-bucket/x";
      await assert.rejects(store.get(other), StorageError);
      await assert.rejects(store.put(u("dir/"), "x"), StorageError);
    });

    it(`streams a ${(largeBytes / 1024 / 1024).toFixed(1)} MiB object in and out (multipart on S3)`, async () => {
      const { stream, sha256 } = randomStream(largeBytes);
      const res = await store.put(u("large.bin"), stream);
      assert.equal(res.size, largeBytes);
      const expected = sha256();
      const info = await store.stat(u("large.bin"));
      assert.equal(info.size, largeBytes);
      // On S3 a multipart upload's ETag is "<md5 of part md5s>-<part count>".
      if (info.etag !== undefined) assert.match(info.etag, /-\d+$/, `not a multipart ETag: ${info.etag}`);
      const hash = createHash("sha256");
      let n = 0;
      for await (const chunk of await store.get(u("large.bin"))) {
        hash.update(chunk as Buffer);
        n += (chunk as Buffer).length;
      }
      assert.equal(n, largeBytes);
      assert.equal(hash.digest("hex"), expected);
      // A range from the middle, across part boundaries.
      const mid = await store.getBytes(u("large.bin"), { offset: 5 * 1024 * 1024 - 10, length: 20 });
      assert.equal(mid.length, 20);
    });

    it(`lists ${manyKeys} keys across pages, then deletes them by prefix`, async () => {
      const keys = Array.from({ length: manyKeys }, (_, i) => `k-${String(i).padStart(5, "0")}`);
      await forEachLimit(keys, 32, async (k) => {
        await store.put(u("many", k), k);
      });
      const listed = await collect(store.list(u("many/")));
      assert.equal(listed.length, manyKeys);
      assert.deepEqual(
        listed.map((e) => e.relativeKey),
        keys,
      );
      assert.equal(new Set(listed.map((e) => e.uri)).size, manyKeys);
      assert.equal(await store.deletePrefix(u("many/")), manyKeys);
      assert.deepEqual(await collect(store.list(u("many/"))), []);
    });

    it("writes objects then a manifest, and reads it back verified", async () => {
      const prefix = u("ckpt", "step-100");
      const schema = z.object({ step: z.number().int() });
      const record = await writeWithManifest(
        store,
        prefix,
        [
          { name: "weights.bin", body: randomBytes(100_000) },
          { name: "opt/state.bin", body: () => Readable.from([Buffer.from("abc"), Buffer.from("def")]) },
        ],
        { step: 100 },
      );
      assert.deepEqual(
        record.objects.map((o) => [o.name, o.size]),
        [
          ["weights.bin", 100_000],
          ["opt/state.bin", 6],
        ],
      );
      const read = await readManifest(store, prefix, schema, { verify: "sha256" });
      assert.deepEqual(read.data, { step: 100 });
      assert.deepEqual(read.objects, record.objects);
    });
  });
}
