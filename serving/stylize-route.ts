// POST /v1/styles/{name}:stylize — raw image bytes in, stylised image out.
//
// Order matters for what a client is told and what the server spends: every
// check that needs no body (style, Accept, Content-Type, the declared size)
// comes before the body is read, so an unknown style answers at once without
// taking a 20 MB upload. The body is then read against the upload budget
// (bytes in flight, admission.ts) and the minimum upload rate
// (read-upload.ts); only once it has all arrived does the request take an
// inference ticket, so slow uploads cannot hold tickets that requests ready to
// compute need. The per-request timeout covers everything after that; a
// request that times out while waiting for an inference thread is withdrawn,
// one already computing finishes on its thread (tfjs cannot interrupt a
// kernel) and its result is dropped.
import type { Request, Response } from "express";
import { z } from "zod";
import type { Logger } from "../common/log/logger.js";
import {
  decodeRgb,
  encodeRgb,
  ImageDecodeError,
  ImageTooLargeError,
  type ImageFormat,
} from "../common/images/codec.js";
import type { Admission } from "./admission.js";
import { sendError } from "../common/http/errors.js";
import { ApiError } from "./api-error.js";
import type { ServerConfig } from "./config.js";
import { InferenceError, type InferencePool } from "./inference-pool.js";
import type { ServerMetrics } from "./metrics.js";
import { onnxRefusal } from "./onnx-bands.js";
import { paddedSide } from "./padding.js";
import { bodyReservation, ClientGoneError, readUpload, type UploadOptions } from "./read-upload.js";
import type { Lease, StyleRegistry } from "./style-registry.js";
import { StyleNameSchema } from "./style-map.js";

export const OUTPUT_TYPES: Record<string, ImageFormat> = {
  "image/jpeg": "jpeg",
  "image/png": "png",
  "image/webp": "webp",
};

/**
 * Request Content-Types taken as a raw image (the bytes are sniffed; the
 * header is not trusted). application/x-www-form-urlencoded is what
 * `curl --data-binary @photo.jpg` sends unless told otherwise — the usage
 * the usage docs/architecture.md shows — and "no type" is what many HTTP libraries send for
 * raw bytes. Types that cannot be a raw image (JSON, text, multipart forms,
 * other image formats) get 415 before the body is read.
 */
export const INPUT_TYPES = new Set([
  "image/jpeg",
  "image/png",
  "image/webp",
  "application/octet-stream",
  "application/x-www-form-urlencoded",
  "",
]);

const QuerySchema = z.object({
  maxSide: z.coerce
    .number({ error: "maxSide must be a whole number of pixels" })
    .int("maxSide must be a whole number of pixels")
    .min(1, "maxSide must be at least 1")
    .optional(),
});

export interface StylizeDeps {
  config: ServerConfig;
  registry: StyleRegistry;
  pool: InferencePool;
  /** Inference tickets (concurrency + queue). */
  admission: Admission;
  /** Bytes of request bodies being received or held. */
  uploads: Admission;
  metrics: ServerMetrics;
  log: Logger;
  shuttingDown(): boolean;
}

const ms = (since: number) => performance.now() - since;

/** What a request asks for, checked from its headers before any body byte is read. */
interface StylizeRequest {
  style: string;
  outputType: string;
  maxSide: number;
  arrived: number;
}

/** The checks that need no body: a refusal answers at once, without taking the upload. */
function checkRequest(deps: StylizeDeps, req: Request, style: string): StylizeRequest {
  const arrived = performance.now();
  if (deps.shuttingDown())
    throw new ApiError("shutting_down", "the server is shutting down; retry on another replica");
  if (!StyleNameSchema.safeParse(style).success || !deps.registry.has(style)) {
    throw new ApiError("style_not_found", `no style named "${style}"; GET /v1/styles lists them`);
  }
  const query = QuerySchema.safeParse(req.query);
  if (!query.success)
    throw new ApiError("invalid_request", query.error.issues.map((i) => i.message).join("; "));
  const accepted = req.accepts(Object.keys(OUTPUT_TYPES));
  if (accepted === false) {
    throw new ApiError("not_acceptable", `the response can be ${Object.keys(OUTPUT_TYPES).join(", ")}`);
  }
  const inputType = (req.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (!INPUT_TYPES.has(inputType)) {
    throw new ApiError(
      "unsupported_media_type",
      `Content-Type ${inputType} is not a raw image: send the JPEG, PNG or WebP bytes as the body (image/jpeg, image/png, image/webp or application/octet-stream), not base64 JSON or a form`,
    );
  }
  const maxSide = Math.min(query.data.maxSide ?? Infinity, deps.config.STYLEKUBE_MAX_SIDE);
  return { style, outputType: accepted, maxSide, arrived };
}

/** The connection closes after this answer: the rest of a body the server will not read is not waited for. */
function closeAfterAnswer(res: Response): void {
  res.set("Connection", "close");
}

export function createStylizeHandler(deps: StylizeDeps) {
  const { config, pool, admission, uploads } = deps;
  const uploadOptions: UploadOptions = {
    maxBytes: config.STYLEKUBE_MAX_BODY_BYTES,
    limits: {
      minBytesPerSecond: config.STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND,
      windowMs: config.STYLEKUBE_MIN_UPLOAD_WINDOW_MS,
      timeoutMs: config.STYLEKUBE_BODY_TIMEOUT_MS,
    },
  };
  // Running average of inference time, for Retry-After.
  const timing = { avgInferenceMs: 1000 };
  const retryAfterSeconds = () =>
    String(
      Math.max(
        1,
        Math.ceil(
          (timing.avgInferenceMs * (pool.queued + pool.running + 1)) / config.STYLEKUBE_CONCURRENCY / 1000,
        ),
      ),
    );

  /** The whole body, with its share of the upload budget to release when the request is done; undefined when the client left. */
  async function receiveBody(req: Request, res: Response) {
    let release: (() => void) | undefined;
    try {
      release = uploads.tryEnter(bodyReservation(req, config.STYLEKUBE_MAX_BODY_BYTES));
    } catch (err) {
      closeAfterAnswer(res);
      throw err;
    }
    if (!release) {
      closeAfterAnswer(res);
      throw new ApiError(
        "overloaded",
        `the server is busy receiving other uploads (${uploads.admitted} of ${uploads.capacity} bytes in flight); retry later`,
        { "Retry-After": retryAfterSeconds() },
      );
    }
    try {
      return { body: await readUpload(req, uploadOptions), release };
    } catch (err) {
      release();
      if (err instanceof ClientGoneError) return undefined;
      closeAfterAnswer(res);
      throw err;
    }
  }

  return async function stylize(req: Request, res: Response, style: string): Promise<void> {
    const request = checkRequest(deps, req, style);
    const received = await receiveBody(req, res);
    if (!received) return;
    try {
      if (received.body.length === 0) {
        throw new ApiError("invalid_image", "the request body is empty: send the image bytes as the body");
      }
      const leaveQueue = admission.tryEnter();
      if (!leaveQueue) {
        throw new ApiError(
          "overloaded",
          `the server is busy (${admission.capacity} requests in progress); retry later`,
          { "Retry-After": retryAfterSeconds() },
        );
      }
      try {
        const lease = deps.registry.acquire(style);
        if (!lease) {
          throw new ApiError("style_not_ready", `style "${style}" is still loading`, { "Retry-After": "1" });
        }
        try {
          await stylizeAdmitted(deps, res, request, received.body, lease, timing);
        } finally {
          lease.release();
        }
      } finally {
        leaveQueue();
      }
    } finally {
      received.release();
    }
  };
}

/** Decode, infer, encode and answer, within the request timeout. */
async function stylizeAdmitted(
  deps: StylizeDeps,
  res: Response,
  request: StylizeRequest,
  body: Buffer,
  lease: Lease,
  timing: { avgInferenceMs: number },
): Promise<void> {
  const { config, pool, metrics } = deps;
  const controller = new AbortController();
  const { signal } = controller;
  const timer = setTimeout(() => {
    const err = new ApiError(
      "timeout",
      `the request took longer than ${config.STYLEKUBE_REQUEST_TIMEOUT_MS} ms after its body arrived; try a smaller image (?maxSide=) or retry later`,
    );
    controller.abort(err);
    sendError(res, err);
  }, config.STYLEKUBE_REQUEST_TIMEOUT_MS);
  res.on("close", () => {
    if (!res.writableFinished) controller.abort(new Error("the client closed the connection"));
  });
  const serverTiming: string[] = [];
  try {
    let t = performance.now();
    const image = await decodeRgb(body, {
      maxPixels: config.STYLEKUBE_MAX_PIXELS,
      maxSide: request.maxSide,
    }).catch((err: unknown) => {
      if (err instanceof ImageTooLargeError) throw new ApiError("image_too_large", err.message);
      if (err instanceof ImageDecodeError) throw new ApiError("invalid_image", err.message);
      throw err;
    });
    serverTiming.push(`decode;dur=${ms(t).toFixed(1)}`);
    // onnxruntime runs at most STYLEKUBE_ONNX_MAX_PIXELS at once (batch-norm models: larger in bands).
    if (pool.engine?.engine === "onnxruntime") {
      const refusal = onnxRefusal(
        paddedSide(image.width),
        paddedSide(image.height),
        config.STYLEKUBE_ONNX_MAX_PIXELS,
        lease.model.description.normalization,
      );
      if (refusal !== undefined) throw new ApiError("image_too_large", refusal);
    }
    signal.throwIfAborted();

    t = performance.now();
    const result = await pool.run(lease.model.modelId, image, signal).catch((err: unknown) => {
      if (err instanceof InferenceError)
        throw new ApiError("inference_failed", `inference failed: ${err.message}`);
      throw err;
    });
    serverTiming.push(
      `queue;dur=${(ms(t) - result.inferenceMs).toFixed(1)}`,
      `inference;dur=${result.inferenceMs.toFixed(1)}`,
    );
    timing.avgInferenceMs = 0.8 * timing.avgInferenceMs + 0.2 * result.inferenceMs;
    metrics.inferenceDuration.observe({ style: request.style }, result.inferenceMs / 1000);
    signal.throwIfAborted();

    t = performance.now();
    const out = await encodeRgb(
      result.image,
      OUTPUT_TYPES[request.outputType]!,
      config.STYLEKUBE_JPEG_QUALITY,
    );
    serverTiming.push(`encode;dur=${ms(t).toFixed(1)}`, `total;dur=${ms(request.arrived).toFixed(1)}`);
    signal.throwIfAborted();
    res
      .status(200)
      .set({
        "Content-Type": request.outputType,
        "Cache-Control": "no-store",
        Vary: "Accept",
        "Server-Timing": serverTiming.join(", "),
        "X-Image-Size": `${result.image.width}x${result.image.height}`,
      })
      .send(out);
  } catch (err) {
    // Already answered (timeout) or nobody to answer (client gone).
    if (signal.aborted) return;
    throw err;
  } finally {
    clearTimeout(timer);
  }
}
