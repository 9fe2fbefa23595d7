// The worker's inputs by URI: s3:// and file:// through the object store,
// http(s):// with fetch (a style image or VGG-16 weights on the web). An HTTP
// error becomes a StorageError carrying the status, so that a 404 is told
// apart from a 503 (common/storage/failure-kind.ts) wherever it came from.
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { StorageError, type ObjectStore } from "../common/storage/index.js";

const isHttp = (uri: string): boolean => /^https?:\/\//i.test(uri);

function httpError(op: string, uri: string, status: number): StorageError {
  return new StorageError(`${op.toUpperCase()} ${uri}: HTTP ${status}`, {
    op,
    uri,
    status,
    code: `HTTP${status}`,
  });
}

export async function readUri(store: ObjectStore, uri: string): Promise<Uint8Array> {
  if (isHttp(uri)) {
    const res = await fetch(uri);
    if (!res.ok) throw httpError("get", uri, res.status);
    return new Uint8Array(await res.arrayBuffer());
  }
  return store.getBytes(uri);
}

/** A path without a scheme (the loss network's weights may be one), as the file store would name its errors. */
async function statPath(path: string): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isFile()) throw Object.assign(new Error("not a file"), { code: "EISDIR" });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new StorageError(`stat ${path}: ${(err as Error).message}`, {
      op: "stat",
      uri: path,
      ...(code ? { code } : {}),
    });
  }
}

/**
 * Rejects when `uri` (a URI or a local path) cannot be read, without reading
 * it: stat on a store or a disk, HEAD over HTTP.
 */
export async function checkReadable(store: ObjectStore, uri: string): Promise<void> {
  if (isHttp(uri)) {
    const res = await fetch(uri, { method: "HEAD" });
    // 405/501: the server does not do HEAD; the read itself will tell.
    if (!res.ok && res.status !== 405 && res.status !== 501) throw httpError("head", uri, res.status);
    return;
  }
  if (uri.startsWith("file://")) return statPath(fileURLToPath(uri));
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) return statPath(uri);
  await store.stat(uri);
}
