// Storage URIs: `s3://bucket/key` and `file:///absolute/path`. Every place that
// accepts a location (CRD fields, CLI flags, env vars) goes through here, so a
// typo is reported once, with the URI and the fix, instead of as a confusing
// SDK or filesystem error later.
import { isAbsolute, posix, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { z } from "zod";

export interface S3Uri {
  scheme: "s3";
  bucket: string;
  /** Object key or key prefix; "" means the whole bucket. Taken literally (S3 URIs are not percent-encoded). */
  key: string;
}

export interface FileUri {
  scheme: "file";
  /** Absolute local path. A trailing "/" is kept: it marks a directory prefix. */
  path: string;
}

export type StorageUri = S3Uri | FileUri;
export type Scheme = StorageUri["scheme"];

export const SCHEMES: readonly Scheme[] = ["s3", "file"];

/** A location string that is not a usable storage URI. The message names the input and the fix. */
export class InvalidUriError extends Error {
  override readonly name = "InvalidUriError";
  constructor(
    readonly uri: string,
    readonly reason: string,
  ) {
    super(`invalid storage URI ${JSON.stringify(uri)}: ${reason}`);
  }
}

// Same rule as the CRD's CEL validation in common/api/fields.ts, so the
// apiserver, zod and this parser agree on what a bucket name is.
const BUCKET_RE = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const MAX_KEY_BYTES = 1024;
const EXPECTED = "expected s3://bucket/key or file:///absolute/path";

function parseS3(input: string): S3Uri {
  const rest = input.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash === -1 ? rest : rest.slice(0, slash);
  const key = slash === -1 ? "" : rest.slice(slash + 1);
  if (bucket === "") throw new InvalidUriError(input, `no bucket name; ${EXPECTED}`);
  if (!BUCKET_RE.test(bucket) || bucket.includes("..")) {
    throw new InvalidUriError(
      input,
      `bucket ${JSON.stringify(bucket)} is not a valid S3 bucket name (3-63 characters: lowercase letters, digits, '.' and '-', starting and ending with a letter or digit)`,
    );
  }
  if (key.startsWith("/")) {
    throw new InvalidUriError(
      input,
      `the key starts with '/'; write s3://${bucket}/${key.replace(/^\/+/, "")}`,
    );
  }
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) {
    throw new InvalidUriError(input, `the key is longer than S3's limit of ${MAX_KEY_BYTES} bytes`);
  }
  return { scheme: "s3", bucket, key };
}

function parseFile(input: string): FileUri {
  let url: URL;
  try {
    url = new URL(input);
  } catch {
    throw new InvalidUriError(input, `not a URL; ${EXPECTED}`);
  }
  // `file://data/x` parses with host "data": almost always a relative path
  // written with two slashes instead of three.
  if (url.host !== "" && url.host !== "localhost") {
    throw new InvalidUriError(
      input,
      `file URIs need an absolute path with three slashes (file:///abs/path); "${url.host}" was read as a host name. For a relative path pass it without the scheme, e.g. ./${url.host}${url.pathname}`,
    );
  }
  if (url.search !== "" || url.hash !== "") {
    throw new InvalidUriError(
      input,
      "file URIs cannot have '?' or '#' parts; percent-encode them (%3F, %23)",
    );
  }
  let path: string;
  try {
    path = fileURLToPath(url);
  } catch (e) {
    throw new InvalidUriError(input, (e as Error).message);
  }
  // Normalize ("/a//b/../c" → "/a/c") so prefixes compare as strings; posix
  // normalize keeps a trailing slash.
  return { scheme: "file", path: posix.normalize(path) };
}

export interface ParseOptions {
  /**
   * Accept a plain local path ("./data", "/abs/dir") as a file URI, resolved
   * against `cwd`. Meant for CLI flags; API fields stay strict so a manifest
   * never depends on the operator's working directory.
   */
  allowPlainPaths?: boolean;
  cwd?: string;
}

export function parseUri(input: string, options: ParseOptions = {}): StorageUri {
  if (typeof input !== "string" || input.trim() === "") {
    throw new InvalidUriError(String(input), `empty; ${EXPECTED}`);
  }
  if (input !== input.trim()) throw new InvalidUriError(input, "remove the leading/trailing whitespace");
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(input);
  if (schemeMatch) {
    const scheme = schemeMatch[1]!.toLowerCase();
    // Lowercase only, like the CRD's CEL rule, so both accept the same strings.
    if (scheme !== schemeMatch[1] && (scheme === "s3" || scheme === "file")) {
      throw new InvalidUriError(
        input,
        `write the scheme in lowercase: ${scheme}:${input.slice(scheme.length + 1)}`,
      );
    }
    if (scheme === "s3") {
      if (!input.startsWith("s3://"))
        throw new InvalidUriError(input, `write s3:// (two slashes); ${EXPECTED}`);
      return parseS3(input);
    }
    if (scheme === "file") {
      if (!input.startsWith("file://")) {
        throw new InvalidUriError(input, `write file:/// (three slashes) followed by an absolute path`);
      }
      return parseFile(input);
    }
    throw new InvalidUriError(input, `unsupported scheme "${scheme}:"; ${EXPECTED}`);
  }
  if (options.allowPlainPaths) {
    const cwd = options.cwd ?? process.cwd();
    const abs = isAbsolute(input) ? input : resolve(cwd, input);
    // resolve() drops a trailing slash; keep it, it marks a directory prefix.
    const path = input.endsWith("/") && !abs.endsWith("/") ? `${abs}/` : abs;
    return { scheme: "file", path };
  }
  if (isAbsolute(input)) {
    throw new InvalidUriError(input, `a plain path is not a URI here; write file://${input}`);
  }
  throw new InvalidUriError(input, `no scheme; ${EXPECTED}`);
}

export function formatUri(uri: StorageUri): string {
  if (uri.scheme === "s3") return uri.key === "" ? `s3://${uri.bucket}/` : `s3://${uri.bucket}/${uri.key}`;
  const href = pathToFileURL(uri.path).href;
  // pathToFileURL drops the trailing slash of "/dir/"; keep it for prefixes.
  return uri.path.endsWith("/") && !href.endsWith("/") ? `${href}/` : href;
}

/** Parse and re-format, so equal locations compare equal as strings. */
export function normalizeUri(input: string, options: ParseOptions = {}): string {
  return formatUri(parseUri(input, options));
}

/**
 * Append path segments to a URI: `joinUri("s3://b/ckpt", "step-1", "w.bin")`
 * is `s3://b/ckpt/step-1/w.bin`. Segments may contain "/" but not "." or ".."
 * parts (object names come from manifests and user input; refusing them keeps
 * a name from escaping its prefix on the file backend).
 */
export function joinUri(base: string, ...parts: string[]): string {
  const parsed = parseUri(base);
  const segments: string[] = [];
  for (const part of parts) {
    for (const seg of part.split("/")) {
      if (seg === "") continue;
      if (seg === "." || seg === "..") {
        throw new InvalidUriError(
          `${base} + ${JSON.stringify(part)}`,
          `path segments "." and ".." are not allowed`,
        );
      }
      segments.push(seg);
    }
  }
  const trailing = parts.length > 0 && parts[parts.length - 1]!.endsWith("/") ? "/" : "";
  const suffix = segments.join("/") + (segments.length > 0 ? trailing : "");
  const join = (a: string, b: string): string =>
    b === "" ? a : a === "" || a.endsWith("/") ? a + b : `${a}/${b}`;
  if (parsed.scheme === "s3") {
    // Re-parse so the joined key is checked (length limit) like any other.
    return formatUri(parseUri(`s3://${parsed.bucket}/${join(parsed.key, suffix)}`));
  }
  return formatUri({ scheme: "file", path: join(parsed.path, suffix) });
}

/** zod schema for a storage URI string; the output is the normalized URI. */
export const StorageUriSchema = z.string().transform((value, ctx) => {
  try {
    return normalizeUri(value);
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});

/** zod schema that also accepts plain local paths (for CLI flags and env vars). */
export const StorageLocationSchema = z.string().transform((value, ctx) => {
  try {
    return normalizeUri(value, { allowPlainPaths: true });
  } catch (e) {
    ctx.addIssue({ code: "custom", message: (e as Error).message });
    return z.NEVER;
  }
});
