// The dashboard API's error codes, sent as {error: {code, message}} like the
// model server's (common/http/errors.ts); the page shows `message`.
import { BASE_ERROR_STATUS, errorClass } from "../../common/http/errors.js";

export const DASHBOARD_ERROR_STATUS = {
  ...BASE_ERROR_STATUS,
  /** No bearer token, or one that is not valid. */
  unauthorized: 401,
  /** Cross-origin, not allowed by RBAC, or a preview outside the training's output. */
  forbidden: 403,
  method_not_allowed: 405,
  /** The change conflicts with the object (e.g. replicas owned by an autoscaler). */
  conflict: 409,
  /** The API server refused the change as invalid. */
  rejected: 422,
  /** Storage, the API server or the StyleServer failed or refused the operator. */
  upstream_failed: 502,
  /** The operator's caches are still loading, or the token could not be checked now. */
  unavailable: 503,
} as const;
export type DashboardErrorCode = keyof typeof DASHBOARD_ERROR_STATUS;

export const DashboardError = errorClass("DashboardError", DASHBOARD_ERROR_STATUS);
export type DashboardError = InstanceType<typeof DashboardError>;
