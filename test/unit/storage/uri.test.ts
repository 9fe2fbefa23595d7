import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  formatUri,
  InvalidUriError,
  joinUri,
  normalizeUri,
  parseUri,
  StorageLocationSchema,
  StorageUriSchema,
} from "../../../common/storage/index.js";

describe("storage URIs", () => {
  it("parses s3://bucket/key", () => {
    assert.deepEqual(parseUri("s3://my-bucket/a/b/c.tar"), {
      scheme: "s3",
      bucket: "my-bucket",
      key: "a/b/c.tar",
    });
    assert.deepEqual(parseUri("s3://my.bucket.01"), { scheme: "s3", bucket: "my.bucket.01", key: "" });
    assert.deepEqual(parseUri("s3://bkt/prefix/"), { scheme: "s3", bucket: "bkt", key: "prefix/" });
    // Keys are literal: no percent-decoding, spaces allowed.
    assert.deepEqual(parseUri("s3://bkt/a%20b c"), { scheme: "s3", bucket: "bkt", key: "a%20b c" });
  });

  it("parses file:///abs/path, normalizing and percent-decoding", () => {
    assert.deepEqual(parseUri("file:///data/x.bin"), { scheme: "file", path: "/data/x.bin" });
    assert.deepEqual(parseUri("file:///data/dir/"), { scheme: "file", path: "/data/dir/" });
    assert.deepEqual(parseUri("file:///a//b/../c"), { scheme: "file", path: "/a/c" });
    assert.deepEqual(parseUri("file:///with%20space/%C3%BC"), { scheme: "file", path: "/with space/ü" });
    assert.deepEqual(parseUri("file://localhost/etc/x"), { scheme: "file", path: "/etc/x" });
  });

  it("accepts plain paths only when asked, resolved against cwd", () => {
    assert.deepEqual(parseUri("./data/x", { allowPlainPaths: true, cwd: "/work" }), {
      scheme: "file",
      path: "/work/data/x",
    });
    assert.deepEqual(parseUri("out/", { allowPlainPaths: true, cwd: "/w" }), {
      scheme: "file",
      path: "/w/out/",
    });
    assert.deepEqual(parseUri("/abs/y", { allowPlainPaths: true }), { scheme: "file", path: "/abs/y" });
    assert.throws(() => parseUri("./data/x"), /no scheme/);
    assert.throws(() => parseUri("/abs/y"), /write file:\/\/\/abs\/y/);
  });

  const bad: [string, RegExp][] = [
    ["", /empty/],
    ["   ", /empty/],
    [" s3://b/k", /whitespace/],
    ["s3:/bkt/k", /s3:\/\/ \(two slashes\)/],
    ["s3://", /no bucket/],
    ["s3:///key", /no bucket/],
    ["s3://My_Bucket/k", /not a valid S3 bucket name/],
    ["s3://ab/k", /not a valid S3 bucket name/],
    ["s3://a..b/k", /not a valid S3 bucket name/],
    ["s3://bkt//k", /starts with '\/'; write s3:\/\/bkt\/k/],
    [`s3://bkt/${"k".repeat(1025)}`, /1024 bytes/],
    ["file://data/x", /three slashes.*\.\/data\/x/],
    ["file:/data/x", /file:\/\/\//],
    ["file:///a?b", /'\?' or '#'/],
    ["S3://bkt/k", /lowercase: s3:\/\/bkt\/k/],
    ["gs://bucket/k", /unsupported scheme "gs:"/],
    ["https://example.com/x", /unsupported scheme "https:"/],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input)} with a message naming it and the fix`, () => {
      assert.throws(
        () => parseUri(input),
        (e: unknown) => {
          assert.ok(e instanceof InvalidUriError, String(e));
          assert.match(e.message, message);
          if (input.trim() !== "") assert.ok(e.message.includes(JSON.stringify(input)), e.message);
          return true;
        },
      );
    });
  }

  it("formats back to the canonical string", () => {
    for (const uri of [
      "s3://bkt/a/b",
      "s3://bkt/",
      "file:///data/x.bin",
      "file:///data/dir/",
      "file:///a%20b/%C3%BC",
    ]) {
      assert.equal(formatUri(parseUri(uri)), uri);
    }
    assert.equal(normalizeUri("s3://bkt"), "s3://bkt/");
    assert.equal(normalizeUri("file:///a//b/./c"), "file:///a/b/c");
  });

  it("joins segments without doubling or dropping slashes", () => {
    assert.equal(joinUri("s3://bkt/ckpt", "step-1", "w.bin"), "s3://bkt/ckpt/step-1/w.bin");
    assert.equal(joinUri("s3://bkt/ckpt/", "/step-1/", "w.bin"), "s3://bkt/ckpt/step-1/w.bin");
    assert.equal(joinUri("s3://bkt", "x"), "s3://bkt/x");
    assert.equal(joinUri("s3://bkt/p", "sub/"), "s3://bkt/p/sub/");
    assert.equal(joinUri("s3://bkt/p"), "s3://bkt/p");
    assert.equal(joinUri("file:///tmp/x", "a b", "c"), "file:///tmp/x/a%20b/c");
    assert.equal(joinUri("file:///tmp/x/", "d/"), "file:///tmp/x/d/");
    assert.throws(() => joinUri("s3://bkt/p", "../etc"), /"\." and "\.\." are not allowed/);
    assert.throws(() => joinUri("file:///srv/data", "a/./b"), InvalidUriError);
  });

  it("has zod schemas that normalize and report the parser's message", () => {
    assert.equal(StorageUriSchema.parse("s3://bkt"), "s3://bkt/");
    const r = StorageUriSchema.safeParse("s3://Bad_Bucket/x");
    assert.equal(r.success, false);
    assert.match(r.error!.issues[0]!.message, /not a valid S3 bucket name/);
    assert.equal(StorageUriSchema.safeParse("./rel").success, false);
    assert.match(StorageLocationSchema.parse("./rel"), /^file:\/\/\/.*\/rel$/);
  });
});
