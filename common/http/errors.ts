// One error shape for every stylekube HTTP API (the model server and the
// operator's dashboard): a status, and the body {error: {code, message}} —
// `code` for clients to branch on, `message` for people, saying why and what
// to do. Each API has its own table of codes and statuses; the codes that the
// shared handler below can produce on its own are in every table.
import type { ErrorRequestHandler, Response } from "express";
import type { Logger } from "../log/logger.js";

/** Codes the shared handling produces itself (unreadable bodies, unknown errors); every API's table has them. */
export const BASE_ERROR_STATUS = {
  invalid_request: 400,
  not_found: 404,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
} as const;
export type BaseErrorCode = keyof typeof BASE_ERROR_STATUS;

export interface ErrorBody<C extends string = string> {
  error: { code: C; message: string };
}

export function errorBody<C extends string>(code: C, message: string): ErrorBody<C> {
  return { error: { code, message } };
}

/** A failure to answer as {error: {code, message}} with `status` and `headers` (e.g. Retry-After). */
export class HttpError<C extends string = string> extends Error {
  override readonly name: string = "HttpError";
  constructor(
    readonly status: number,
    readonly code: C,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }
}

/**
 * An error class for one API's table: `new ApiError("style_not_found", "…")`
 * takes its status from the table, so a code can only ever be sent with one
 * status.
 */
export function errorClass<T extends Readonly<Record<BaseErrorCode, number> & Record<string, number>>>(
  name: string,
  table: T,
) {
  type Code = keyof T & string;
  return class extends HttpError<Code> {
    override readonly name = name;
    constructor(code: Code, message: string, headers: Readonly<Record<string, string>> = {}) {
      super(table[code]!, code, message, headers);
    }
  };
}

/**
 * Sends the error. Once the response has started there is no status left to
 * send: the connection is cut, so the client sees a failure rather than a
 * truncated body that looks whole.
 */
export function sendError(res: Response, err: HttpError): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  // For access logs and errors-by-code metrics.
  res.locals.errorCode = err.code;
  res
    .status(err.status)
    .set({ ...err.headers, "Cache-Control": "no-store" })
    .json(errorBody(err.code, err.message));
}

/** Errors of body-parser / raw-body (size limits, encodings, bad JSON) as HttpErrors with base codes. */
export function bodyReadError(err: unknown): HttpError<BaseErrorCode> {
  const e = err as { status?: number; type?: string; message?: string; limit?: number };
  if (e.type === "entity.too.large" || e.status === 413)
    return new HttpError(
      413,
      "payload_too_large",
      `the body is larger than the limit of ${e.limit ?? "?"} bytes`,
    );
  if (e.type === "entity.parse.failed")
    return new HttpError(400, "invalid_request", `body is not JSON: ${e.message}`);
  if (e.status === 415)
    return new HttpError(415, "unsupported_media_type", e.message ?? "unsupported content encoding");
  return new HttpError(400, "invalid_request", `could not read the body: ${e.message ?? String(err)}`);
}

/**
 * The last express middleware: HttpErrors as they are, body-parser's and
 * express's own 4xx errors (e.g. a malformed %-escape in a path) as
 * invalid_request, anything else logged with its stack and answered as a
 * 500 that reveals nothing.
 */
export function errorHandler(log: Logger): ErrorRequestHandler {
  return (err: unknown, req, res, _next) => {
    if (err instanceof HttpError) return sendError(res, err);
    const e = err as { status?: unknown; type?: unknown };
    // body-parser marks each of its errors with a type ("entity.too.large", "encoding.unsupported" …).
    if (typeof e.type === "string" && typeof e.status === "number") return sendError(res, bodyReadError(err));
    if (typeof e.status === "number" && e.status >= 400 && e.status < 500)
      return sendError(res, new HttpError(400, "invalid_request", (err as Error).message || "bad request"));
    log.error({ err, method: req.method, path: req.path }, "unexpected error");
    sendError(res, new HttpError(500, "internal", "internal error; it has been logged"));
  };
}
