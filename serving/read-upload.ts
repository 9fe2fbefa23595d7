// Reads a stylize request's body while watching how fast it arrives
// (upload-progress.ts): too slow or too long, and the read stops with a 408
// ApiError; larger than the limit (after decompression), 413. Once a read
// stops early the rest of the body is discarded as it comes, so the caller can
// answer and close the connection (a client still sending then reads the
// answer, not a reset).
import type { IncomingMessage } from "node:http";
import { createGunzip, createInflate } from "node:zlib";
import type { Transform } from "node:stream";
import { ApiError } from "./api-error.js";
import { UploadProgress, type UploadLimits } from "./upload-progress.js";

/** The client went away before its body arrived: nobody to answer. */
export class ClientGoneError extends Error {
  override readonly name = "ClientGoneError";
}

export interface UploadOptions {
  /** Largest body, after decompression. */
  maxBytes: number;
  limits: UploadLimits;
}

/** "gzip", "deflate" or undefined (identity); any other Content-Encoding is a 415. */
function contentEncoding(req: IncomingMessage): "gzip" | "deflate" | undefined {
  const encoding = (req.headers["content-encoding"] ?? "identity").trim().toLowerCase();
  if (encoding === "identity") return undefined;
  if (encoding === "gzip" || encoding === "x-gzip") return "gzip";
  if (encoding === "deflate") return "deflate";
  throw new ApiError(
    "unsupported_media_type",
    `Content-Encoding ${encoding} is not supported: send the image bytes as they are (or gzip, deflate)`,
  );
}

/**
 * The bytes to reserve for this request's body before reading it: its
 * Content-Length, or the limit when the length is unknown or the body is
 * compressed (it may grow up to the limit). A declared length over the limit
 * is refused before any byte is read.
 */
export function bodyReservation(req: IncomingMessage, maxBytes: number): number {
  const compressed = contentEncoding(req) !== undefined;
  const declared = Number(req.headers["content-length"]);
  if (req.headers["content-length"] === undefined || !Number.isSafeInteger(declared) || compressed)
    return maxBytes;
  if (declared > maxBytes)
    throw new ApiError("payload_too_large", `the body is larger than the limit of ${maxBytes} bytes`);
  return declared;
}

function decoderFor(encoding: "gzip" | "deflate" | undefined): Transform | undefined {
  if (encoding === "gzip") return createGunzip();
  if (encoding === "deflate") return createInflate();
  return undefined;
}

/** Checks per window, at least once a second, so a cut-off comes within a second of its rule. */
const checkEveryMs = (limits: UploadLimits) => Math.min(1000, limits.windowMs);

export function readUpload(req: IncomingMessage, options: UploadOptions): Promise<Buffer> {
  const decoder = decoderFor(contentEncoding(req));
  const body = decoder ?? req;
  const progress = new UploadProgress(options.limits, performance.now());
  const chunks: Buffer[] = [];
  let size = 0;
  return new Promise<Buffer>((resolve, reject) => {
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearInterval(timer);
      req.off("data", onWire);
      body.off("data", onBody);
      if (decoder) {
        req.unpipe(decoder);
        decoder.destroy();
      }
      if (err) {
        chunks.length = 0;
        // Discard whatever else the client sends until the answer is out and the connection closes.
        req.resume();
        reject(err);
      } else resolve(Buffer.concat(chunks, size));
    };
    const onWire = (chunk: Buffer) => progress.received(chunk.length);
    const onBody = (chunk: Buffer) => {
      size += chunk.length;
      if (size > options.maxBytes)
        finish(
          new ApiError("payload_too_large", `the body is larger than the limit of ${options.maxBytes} bytes`),
        );
      else chunks.push(chunk);
    };
    const every = checkEveryMs(options.limits);
    let lastTick = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      // A tick this late means this process could not read either: not the client's slowness.
      if (now - lastTick > 2 * every) progress.restartWindow(now);
      lastTick = now;
      const cutOff = progress.check(now);
      if (cutOff) finish(new ApiError(cutOff.code, cutOff.message));
    }, every);
    req.on("data", onWire);
    body.on("data", onBody);
    body.once("end", () => finish());
    decoder?.once("error", (err) =>
      finish(new ApiError("invalid_request", `could not decompress the body: ${err.message}`)),
    );
    if (decoder) req.pipe(decoder);
    req.once("close", () => {
      if (!req.complete) finish(new ClientGoneError("the client closed the connection during the upload"));
    });
  });
}
