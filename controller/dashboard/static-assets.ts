// The page's files (controller/dashboard/static), read once at start and
// served from memory with an ETag and a gzip copy. No CDN, no bundler: the
// page is hand-written, so what is in the folder is what the browser gets.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

interface Asset {
  body: Buffer;
  gzip: Buffer;
  etag: string;
  type: string;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/**
 * Beside this module when run from source; from the compiled dist/ tree the
 * static folder is not emitted by tsc, so look in the source tree next to it.
 */
export function findStaticDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "static"), resolve(here, "../../../controller/dashboard/static")];
  const found = candidates.find((d) => existsSync(join(d, "index.html")));
  if (!found) throw new Error(`dashboard assets not found in ${candidates.join(" or ")}`);
  return found;
}

export class StaticAssets {
  private readonly assets = new Map<string, Asset>();

  constructor(dir: string = findStaticDir()) {
    for (const file of readdirSync(dir)) {
      const type = TYPES[extname(file)];
      if (!type) continue;
      const body = readFileSync(join(dir, file));
      this.assets.set(file, {
        body,
        gzip: gzipSync(body, { level: 9 }),
        etag: `"${createHash("sha256").update(body).digest("base64url").slice(0, 22)}"`,
        type,
      });
    }
  }

  /** Bytes of every asset, raw and gzipped: the first-load budget. */
  sizes(): { raw: number; gzip: number } {
    let raw = 0;
    let gzip = 0;
    for (const a of this.assets.values()) {
      raw += a.body.length;
      gzip += a.gzip.length;
    }
    return { raw, gzip };
  }

  has(file: string): boolean {
    return this.assets.has(file);
  }

  serve(req: IncomingMessage, res: ServerResponse, file: string, headers: Record<string, string>): boolean {
    const a = this.assets.get(file);
    if (!a) return false;
    const common = {
      ...headers,
      "content-type": a.type,
      etag: a.etag,
      // Revalidate every time: an upgraded operator must never serve a stale page.
      "cache-control": "no-cache",
      vary: "accept-encoding",
    };
    if (req.headers["if-none-match"] === a.etag) {
      res.writeHead(304, common).end();
      return true;
    }
    const gz = /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
    const body = gz ? a.gzip : a.body;
    res.writeHead(200, {
      ...common,
      ...(gz ? { "content-encoding": "gzip" } : {}),
      "content-length": String(body.length),
    });
    res.end(req.method === "HEAD" ? undefined : body);
    return true;
  }
}
