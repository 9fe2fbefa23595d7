// Every failure the HTTP API reports is one of these codes, sent as
// {error: {code, message}} with the matching status, so clients can branch on
// `code` and people can read `message`. Metrics count errors by code.
import type { Response } from "express";

export const ERROR_STATUS = {
  invalid_request: 400,
  invalid_image: 400,
  unauthorized: 401,
  not_found: 404,
  style_not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  payload_too_large: 413,
  image_too_large: 413,
  unsupported_media_type: 415,
  model_load_failed: 422,
  too_many_styles: 422,
  overloaded: 429,
  style_not_ready: 503,
  conflict: 409,
  internal: 500,
  inference_failed: 500,
  timeout: 503,
  shutting_down: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class ApiError extends Error {
  override readonly name = "ApiError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export interface ErrorBody {
  error: { code: ErrorCode; message: string };
}

export function sendError(res: Response, err: ApiError): void {
  if (res.headersSent) {
    // Too late for a status; cut the response so the client sees a failure, not a truncated image.
    res.destroy();
    return;
  }
  // For the access log and the errors-by-kind metric.
  res.locals.errorCode = err.code;
  res.set(err.headers);
  res.status(err.status).json({ error: { code: err.code, message: err.message } } satisfies ErrorBody);
}
