// file:// backend: local disks, PVCs and hostPath volumes, and the unit tests.
// It keeps S3's semantics where a filesystem allows: writes are atomic
// (temp file + fsync + rename), listing is by string prefix in key byte
// order, deleting a missing object succeeds.
import { randomBytes } from "node:crypto";
import type { Dirent, Stats } from "node:fs";
import { mkdir, open, readdir, rename, rmdir, stat, unlink, type FileHandle } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { addAbortSignal, Readable } from "node:stream";
import { createLogger, type Logger } from "../log/logger.js";
import {
  emptyStream,
  NotFoundError,
  readAll,
  StorageError,
  toBuffer,
  validateRange,
  type Body,
  type GetOptions,
  type ListEntry,
  type ObjectInfo,
  type ObjectStore,
  type PutOptions,
  type PutResult,
} from "./storage.js";
import { formatUri, parseUri, type Scheme } from "./uri.js";

/** Temp files of in-flight puts end with this; `list` skips them. */
export const TEMP_SUFFIX = ".stylekube-tmp";

export interface FileStoreOptions {
  /**
   * fsync each file and its directory before a put resolves, so a written
   * checkpoint survives a node crash. Turn off for scratch data only.
   */
  durable?: boolean;
  logger?: Logger;
}

const NOT_FOUND_CODES = new Set(["ENOENT", "ENOTDIR"]);

function errnoCode(e: unknown): string | undefined {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === "string" ? code : undefined;
}

export class FileStore implements ObjectStore {
  readonly schemes: readonly Scheme[] = ["file"];
  readonly #durable: boolean;
  readonly #log: Logger;

  constructor(options: FileStoreOptions = {}) {
    this.#durable = options.durable ?? true;
    this.description = Object.freeze({ backend: "file", durable: this.#durable });
    this.#log = (options.logger ?? createLogger("storage")).child({ backend: "file" });
  }

  /** Safe to log; a public field because pino's redaction serialises a copy (no private fields). */
  readonly description: Readonly<Record<string, unknown>>;

  toJSON(): Record<string, unknown> {
    return { ...this.description };
  }

  #path(op: string, uri: string, { prefix = false } = {}): string {
    const parsed = parseUri(uri);
    if (parsed.scheme !== "file") {
      throw new StorageError(
        `${op} ${uri}: the file store serves file:// URIs only (use openStore() for both)`,
        {
          op,
          uri,
        },
      );
    }
    if (!prefix && parsed.path.endsWith("/")) {
      throw new StorageError(`${op} ${uri}: an object URI cannot end with '/' (that is a prefix)`, {
        op,
        uri,
      });
    }
    return parsed.path;
  }

  #wrap(op: string, uri: string, e: unknown): StorageError {
    if (e instanceof StorageError) return e;
    const code = errnoCode(e);
    if ((op === "get" || op === "stat") && code !== undefined && NOT_FOUND_CODES.has(code)) {
      return new NotFoundError(op, uri, { code });
    }
    const message = e instanceof Error ? e.message : String(e);
    return new StorageError(`${op} ${uri}: ${message}`, { op, uri, ...(code ? { code } : {}) });
  }

  async get(uri: string, options: GetOptions = {}): Promise<Readable> {
    const path = this.#path("get", uri);
    validateRange("get", uri, options);
    let fh: FileHandle | undefined;
    try {
      fh = await open(path, "r");
      const st = await fh.stat();
      // open() succeeds on a directory; on S3 there would be no such object.
      if (!st.isFile()) throw new NotFoundError("get", uri, { code: "EISDIR" });
      const start = options.offset ?? 0;
      if (options.length === 0 || start >= st.size) {
        await fh.close();
        return emptyStream();
      }
      const end = options.length === undefined ? undefined : start + options.length - 1;
      const stream = fh.createReadStream({ start, ...(end !== undefined ? { end } : {}) });
      fh = undefined; // the stream owns (and closes) the handle now
      return options.signal ? addAbortSignal(options.signal, stream) : stream;
    } catch (e) {
      await fh?.close().catch(() => undefined);
      throw this.#wrap("get", uri, e);
    }
  }

  async getBytes(uri: string, options: GetOptions = {}): Promise<Buffer> {
    const stream = await this.get(uri, options);
    try {
      return await readAll(stream);
    } catch (e) {
      throw this.#wrap("get", uri, e);
    }
  }

  async put(uri: string, body: Body, options: PutOptions = {}): Promise<PutResult> {
    const path = this.#path("put", uri);
    const dir = dirname(path);
    const started = Date.now();
    // Same directory as the target, so rename() is atomic (same filesystem).
    const tmp = join(dir, `.${basename(path)}.${randomBytes(6).toString("hex")}${TEMP_SUFFIX}`);
    let fh: FileHandle | undefined;
    let size = 0;
    try {
      options.signal?.throwIfAborted();
      await mkdir(dir, { recursive: true });
      fh = await open(tmp, "wx");
      if (body instanceof Readable) {
        // Abort destroys the source, which ends the loop below even when the
        // source is stalled; for-await also destroys it if we throw (disk full).
        if (options.signal) addAbortSignal(options.signal, body);
        for await (const chunk of body) {
          options.signal?.throwIfAborted();
          const buf = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
          await fh.writeFile(buf); // writes the whole chunk at the current position
          size += buf.length;
        }
      } else {
        const buf = toBuffer(body);
        await fh.writeFile(buf);
        size = buf.length;
      }
      options.signal?.throwIfAborted();
      if (this.#durable) await fh.sync();
      await fh.close();
      fh = undefined;
      await rename(tmp, path);
      // The rename is durable only once the directory entry is on disk.
      if (this.#durable) await syncDir(dir);
    } catch (e) {
      if (body instanceof Readable && !body.destroyed) body.destroy();
      await fh?.close().catch(() => undefined);
      await unlink(tmp).catch(() => undefined);
      throw this.#wrap("put", uri, e);
    }
    this.#log.debug({ op: "put", uri, size, ms: Date.now() - started }, "put");
    return { uri: formatUri({ scheme: "file", path }), size };
  }

  async stat(uri: string): Promise<ObjectInfo> {
    const path = this.#path("stat", uri);
    let st: Stats;
    try {
      st = await stat(path);
    } catch (e) {
      throw this.#wrap("stat", uri, e);
    }
    if (!st.isFile()) throw new NotFoundError("stat", uri, { code: "EISDIR" });
    return { uri: formatUri({ scheme: "file", path }), size: st.size, lastModified: st.mtime };
  }

  async exists(uri: string): Promise<boolean> {
    try {
      await this.stat(uri);
      return true;
    } catch (e) {
      if (e instanceof NotFoundError) return false;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<ListEntry> {
    const p = this.#path("list", prefix, { prefix: true });
    const [dir, namePrefix] = p.endsWith("/") ? [p, ""] : [dirname(p), basename(p)];
    yield* this.#walk(prefix, dir, namePrefix, p);
  }

  /**
   * Yields files in key byte order, streaming (no full listing in memory).
   * Sorting each directory by name, with directories as "name/", gives the
   * global byte order S3 uses: e.g. file "a-b" ('-' is 0x2d) before
   * everything in directory "a/" ('/' is 0x2f).
   */
  async *#walk(
    listed: string,
    dir: string,
    namePrefix: string,
    prefixPath: string,
  ): AsyncGenerator<ListEntry> {
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      const code = errnoCode(e);
      if (code !== undefined && NOT_FOUND_CODES.has(code)) return; // no such prefix: empty, like S3
      throw this.#wrap("list", listed, e);
    }
    const items: { name: string; isDir: boolean; sortKey: Buffer }[] = [];
    for (const ent of entries) {
      if (!ent.name.startsWith(namePrefix) || ent.name.endsWith(TEMP_SUFFIX)) continue;
      let isDir = ent.isDirectory();
      let isFile = ent.isFile();
      if (ent.isSymbolicLink()) {
        // Follow links to files; not links to directories (cycles, and the
        // same object would appear under two keys).
        const st = await stat(join(dir, ent.name)).catch(() => undefined);
        isFile = st?.isFile() ?? false;
        isDir = false;
      }
      if (!isDir && !isFile) continue;
      items.push({ name: ent.name, isDir, sortKey: Buffer.from(isDir ? `${ent.name}/` : ent.name, "utf8") });
    }
    items.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
    for (const item of items) {
      const full = join(dir, item.name);
      if (item.isDir) {
        yield* this.#walk(listed, full, "", prefixPath);
        continue;
      }
      let st: Stats;
      try {
        st = await stat(full);
      } catch (e) {
        if (errnoCode(e) === "ENOENT") continue; // deleted while listing
        throw this.#wrap("list", listed, e);
      }
      yield {
        uri: formatUri({ scheme: "file", path: full }),
        key: full,
        relativeKey: full.slice(prefixPath.length),
        size: st.size,
        lastModified: st.mtime,
      };
    }
  }

  async delete(uri: string): Promise<void> {
    const path = this.#path("delete", uri);
    try {
      const st = await stat(path);
      if (!st.isFile()) return; // a directory is not an object; nothing to delete
      await unlink(path);
    } catch (e) {
      if (errnoCode(e) === "ENOENT" || errnoCode(e) === "ENOTDIR") return;
      throw this.#wrap("delete", uri, e);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const p = this.#path("deletePrefix", prefix, { prefix: true });
    if (p === "/") {
      throw new StorageError(`deletePrefix ${prefix}: refusing to delete everything under "/"`, {
        op: "deletePrefix",
        uri: prefix,
      });
    }
    let n = 0;
    for await (const entry of this.list(prefix)) {
      await this.delete(entry.uri);
      n++;
    }
    // S3 has no directories: once the objects are gone the "folders" are too.
    // Remove the now-empty directories under the prefix to match.
    const [dir, namePrefix] = p.endsWith("/") ? [p, ""] : [dirname(p), basename(p)];
    await pruneEmptyDirs(dir, namePrefix);
    if (p.endsWith("/")) await rmdir(p).catch(() => undefined);
    this.#log.debug({ op: "deletePrefix", uri: prefix, deleted: n }, "deletePrefix");
    return n;
  }

  async close(): Promise<void> {}
}

async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, "r");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Remove empty directories (post-order) among the entries of `dir` whose name starts with `namePrefix`. */
async function pruneEmptyDirs(dir: string, namePrefix: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [] as Dirent[]);
  for (const ent of entries) {
    if (!ent.isDirectory() || !ent.name.startsWith(namePrefix)) continue;
    const sub = join(dir, ent.name);
    await pruneEmptyDirs(sub, "");
    await rmdir(sub).catch(() => undefined); // ENOTEMPTY: something else lives there; keep it
  }
}
