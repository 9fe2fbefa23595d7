// Every failure the model server's HTTP API reports is one of these codes,
// sent as {error: {code, message}} with the matching status (the shape every
// stylekube API shares: common/http/errors.ts), so clients can branch on
// `code` and people can read `message`. Metrics count errors by code.
import { BASE_ERROR_STATUS, errorClass } from "../common/http/errors.js";

export const ERROR_STATUS = {
  ...BASE_ERROR_STATUS,
  invalid_image: 400,
  unauthorized: 401,
  style_not_found: 404,
  method_not_allowed: 405,
  not_acceptable: 406,
  upload_too_slow: 408,
  upload_timeout: 408,
  image_too_large: 413,
  model_load_failed: 422,
  too_many_styles: 422,
  overloaded: 429,
  style_not_ready: 503,
  conflict: 409,
  inference_failed: 500,
  timeout: 503,
  shutting_down: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export const ApiError = errorClass("ApiError", ERROR_STATUS);
export type ApiError = InstanceType<typeof ApiError>;
