// Reading and writing a baselines file (baselines.ts). Each write re-reads
// the file and merges, so a run that another bench wrote to meanwhile loses
// nothing, and replaces it atomically (temporary file and rename), so an
// interrupted bench leaves the last complete file.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, extname, join } from "node:path";
import { readImageBytes } from "../../trainer/gatys/loss-problem.js";
import {
  type BaselineEntry,
  type BaselineFile,
  BaselineFileSchema,
  emptyBaselines,
  mergeBaselines,
} from "./baselines.js";

/** $XDG_CACHE_HOME/stylekube/quality, else ~/.cache/stylekube/quality. */
export function defaultBaselinesDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(env["XDG_CACHE_HOME"] || join(homedir(), ".cache"), "stylekube", "quality");
}

/** One file per painting and size, e.g. starry_night-256.json (entries are keyed, so sharing a file is safe). */
export function defaultBaselinesPath(
  style: string,
  size: number,
  env: NodeJS.ProcessEnv = process.env,
): string {
  const stem = basename(style, extname(style)).replace(/[^A-Za-z0-9_.-]/g, "-");
  return join(defaultBaselinesDir(env), `${stem}-${size}.json`);
}

/** The file's baselines; none when it does not exist yet. */
export async function readBaselines(path: string): Promise<BaselineFile> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return emptyBaselines();
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(
      `${path} is not JSON (${(err as Error).message}); move it away or pass another --baselines`,
      { cause: err },
    );
  }
  const parsed = BaselineFileSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `${path} is not a quality baselines file: ${parsed.error.issues
        .slice(0, 3)
        .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
        .join("; ")}; move it away or pass another --baselines`,
    );
  return parsed.data;
}

/** Merges `added` into the file on disk (created with its folder if missing) and returns the result. */
export async function saveBaselines(path: string, added: readonly BaselineEntry[]): Promise<BaselineFile> {
  const merged = mergeBaselines(await readBaselines(path), added);
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, formatBaselines(merged));
  await rename(tmp, path);
  return merged;
}

/** JSON with one entry a line, so a committed file's diff shows which photos changed. */
export function formatBaselines(file: BaselineFile): string {
  const entries = file.entries.map((e) => `  ${JSON.stringify(e)}`).join(",\n");
  return `{"kind":${JSON.stringify(file.kind)},"version":${file.version},"entries":[\n${entries}\n]}\n`;
}

/** Lowercase hex sha256 of a local file (streamed: VGG-16's weights are tens of MB). */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** sha256 of a local path or any URI the project's storage reads. */
export async function sha256Of(pathOrUri: string): Promise<string> {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(pathOrUri)) return sha256OfFile(pathOrUri);
  return createHash("sha256")
    .update(await readImageBytes(pathOrUri))
    .digest("hex");
}
