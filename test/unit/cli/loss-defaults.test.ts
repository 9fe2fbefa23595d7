// What `stylekube loss` (and `stylize --optimize`) use when not told: the
// VGG-16 weights `stylekube weights pull vgg16` cached, and the fastest
// engine that works here. The CLI runs as a child process with its cache in
// a temporary folder (XDG_CACHE_HOME, as on a user's machine).
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { engineFromFlag } from "../../../cli/engine-flag.js";
import { checkEngine } from "../../../trainer/engine/doctor.js";
import { MissingVggWeightsError, vggWeightsOrDefault } from "../../../trainer/gatys/loss-problem.js";
import { serializeCanonicalVgg16 } from "../../../trainer/loss-network/canonical.js";
import { randomVgg16Weights } from "../../../trainer/loss-network/load.js";
import { vgg16CachePath } from "../../../trainer/loss-network/pull.js";
import { runStylekube } from "../../support/stylekube-cli.js";

/** The JSON log lines (pino writes to stdout) and the command's own last line. */
function parseOutput(stdout: string): { logs: Record<string, unknown>[]; result: unknown } {
  const lines = stdout.trimEnd().split("\n");
  const result: unknown = JSON.parse(lines.at(-1) ?? "null");
  return { logs: lines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>), result };
}

let dir: string;
let cached: string;
let env: NodeJS.ProcessEnv;

/** The environment of a user with no weights settings, whose cache is under `cacheHome`. */
function userEnv(cacheHome: string): NodeJS.ProcessEnv {
  const rest = { ...process.env };
  delete rest["STYLEKUBE_VGG16_WEIGHTS"];
  delete rest["STYLEKUBE_WEIGHTS_DIR"];
  return { ...rest, XDG_CACHE_HOME: cacheHome, STYLEKUBE_LOG_LEVEL: "info" };
}

describe("stylekube loss and stylize defaults", () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "stylekube-loss-defaults-"));
    env = userEnv(join(dir, "cache"));
    // Where `stylekube weights pull vgg16` puts its file for this user: a canonical file of (random) VGG-16 weights.
    cached = vgg16CachePath(join(dir, "cache", "stylekube", "weights"));
    await mkdir(join(dir, "cache", "stylekube", "weights"), { recursive: true });
    const { bytes } = serializeCanonicalVgg16(randomVgg16Weights(3), { convention: "caffe", source: "test" });
    await writeFile(cached, bytes);
    for (const [name, seed] of [
      ["content.png", 1],
      ["style.png", 2],
      ["image.png", 3],
    ] as const) {
      const rgb = Buffer.from(
        Array.from({ length: 32 * 24 * 3 }, (_, i) => (i * (7 + seed) + seed * 50) % 256),
      );
      await sharp(rgb, { raw: { width: 32, height: 24, channels: 3 } })
        .png()
        .toFile(join(dir, name));
    }
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  const lossArgs = () => [
    "loss",
    "--content",
    join(dir, "content.png"),
    "--style",
    join(dir, "style.png"),
    "--style-size",
    "32",
    join(dir, "image.png"),
  ];

  it("the default engine here is onnxruntime on the CPU where no GPU engine works", async () => {
    const chosen = await engineFromFlag(undefined);
    assert.equal(chosen.defaulted, true);
    const gpu = await Promise.all([
      checkEngine({ engine: "onnxruntime", provider: "cuda" }),
      checkEngine({ engine: "webgpu" }),
      checkEngine({ engine: "tensorflow" }),
    ]);
    const hardwareGpu = gpu.some((c) => c.status === "ok" && c.softwareAdapter !== true);
    // This machine (2 CPU cores, no GPU, no libtensorflow): onnxruntime on its CPU provider, not wasm.
    if (!hardwareGpu) assert.deepEqual([chosen.engine, chosen.provider], ["onnxruntime", "cpu"]);
    assert.notEqual(chosen.engine, "wasm");
  });

  it("--engine is checked, and named engines are taken as given", async () => {
    await assert.rejects(engineFromFlag("tpu"), /--engine must be one of auto, onnxruntime, .* got "tpu"/);
    assert.deepEqual(await engineFromFlag("wasm"), { engine: "wasm", defaulted: false });
  });

  it("loss with no --vgg-weights reads the file weights pull cached, on the default engine", async () => {
    const r = await runStylekube(lossArgs(), env);
    assert.equal(r.code, 0, r.stderr);
    const { logs, result } = parseOutput(r.stdout);
    const loaded = logs.find((l) => l["msg"] === "loaded VGG-16 loss network");
    assert.equal(loaded?.["weights"], cached);
    const engine = logs.find((l) => l["msg"] === "compute engine selected");
    const fastest = await engineFromFlag(undefined);
    assert.deepEqual([engine?.["engine"], engine?.["provider"]], [fastest.engine, fastest.provider]);
    const loss = result as { total: number; content: number; style: number; tv: number };
    assert.ok(Number.isFinite(loss.total) && loss.total > 0, JSON.stringify(loss));
  });

  it("with nothing cached, loss says to run stylekube weights pull vgg16", async () => {
    const r = await runStylekube(lossArgs(), userEnv(join(dir, "empty-cache")));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /stylekube loss: no VGG-16 weights: none cached at \S+empty-cache\/stylekube\/weights\/vgg16-relu4_3\.safetensors\. Run `stylekube weights pull vgg16` once/,
    );
  });

  it("vggWeightsOrDefault: the flag, then $STYLEKUBE_VGG16_WEIGHTS, then the cached file", () => {
    const withCache = { XDG_CACHE_HOME: join(dir, "cache") };
    assert.equal(
      vggWeightsOrDefault("s3://b/vgg.h5", { ...withCache, STYLEKUBE_VGG16_WEIGHTS: "x" }),
      "s3://b/vgg.h5",
    );
    assert.equal(vggWeightsOrDefault(undefined, { ...withCache, STYLEKUBE_VGG16_WEIGHTS: "/w.h5" }), "/w.h5");
    assert.equal(vggWeightsOrDefault(undefined, withCache), cached);
    // STYLEKUBE_WEIGHTS_DIR, the cache folder weights pull honours, comes before XDG_CACHE_HOME.
    assert.throws(
      () => vggWeightsOrDefault(undefined, { ...withCache, STYLEKUBE_WEIGHTS_DIR: join(dir, "nowhere") }),
      (err: Error) => err instanceof MissingVggWeightsError && err.message.includes(join(dir, "nowhere")),
    );
  });
});
