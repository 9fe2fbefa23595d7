// STYLEKUBE_STYLES_FILE: a JSON file {styleName: modelURI}, re-read when its
// content changes. Polled rather than fs.watch'ed: a mounted ConfigMap is
// updated by swapping a symlink, which inotify watches on the file miss.
import { readFile } from "node:fs/promises";
import type { Logger } from "../common/log/logger.js";
import { StyleMapSchema, type StyleMap } from "./style-map.js";

export async function readStylesFile(path: string): Promise<{ text: string; styles: StyleMap }> {
  const text = await readFile(path, "utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new Error(`${path} is not JSON: ${(err as Error).message}`, { cause: err });
  }
  const parsed = StyleMapSchema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues
      .map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`)
      .join("; ");
    throw new Error(`${path} must be a JSON object {styleName: modelURI}: ${problems}`);
  }
  return { text, styles: parsed.data };
}

/**
 * Calls onChange with the new styles whenever the file's content changes.
 * A file that becomes unreadable or invalid is logged and ignored: the
 * server keeps its current styles rather than dropping them all.
 */
export function watchStylesFile(
  path: string,
  initialText: string,
  pollMs: number,
  log: Logger,
  onChange: (styles: StyleMap) => void,
): () => void {
  let last = initialText;
  let reading = false;
  const timer = setInterval(() => {
    if (reading) return;
    reading = true;
    readStylesFile(path)
      .then(({ text, styles }) => {
        if (text === last) return;
        last = text;
        log.info({ file: path, styles: Object.keys(styles) }, "styles file changed");
        onChange(styles);
      })
      .catch((err: unknown) => {
        const message = err instanceof Error ? err.message : String(err);
        // Log each distinct problem once, not every poll.
        if (message !== last)
          log.error({ file: path, err }, "styles file unusable; keeping the current styles");
        last = message;
      })
      .finally(() => (reading = false));
  }, pollMs);
  timer.unref();
  return () => clearInterval(timer);
}
