// The admin API (PUT/DELETE /v1/styles/{name}: load and unload models) is on
// only when a bearer token is configured — KServe's model servers and
// Triton's model-control mode likewise keep repository changes off by
// default. Anyone who reaches the port could otherwise make the server fetch
// any model URI its credentials can read, or drop the styles it serves.
import { timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, Response } from "express";
import { ApiError } from "./api-error.js";
import type { ServerConfig } from "./config.js";

export type AdminApiState = { enabled: true; token: string } | { enabled: false; reason: string };

export function adminApiState(
  config: Pick<ServerConfig, "STYLEKUBE_ADMIN_API" | "STYLEKUBE_ADMIN_TOKEN">,
): AdminApiState {
  if (config.STYLEKUBE_ADMIN_API === false) return { enabled: false, reason: "STYLEKUBE_ADMIN_API=false" };
  if (config.STYLEKUBE_ADMIN_TOKEN === undefined) {
    return {
      enabled: false,
      reason:
        "STYLEKUBE_ADMIN_TOKEN is not set; set it to a long random secret to enable PUT/DELETE /v1/styles/{name} with Authorization: Bearer <token>",
    };
  }
  return { enabled: true, token: config.STYLEKUBE_ADMIN_TOKEN };
}

/** Whether `header` (an Authorization header) carries `token`, compared in constant time. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(/^Bearer (.+)$/i.exec(header ?? "")?.[1] ?? "");
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/** Express middleware in front of the admin routes: 405 when the API is off, 401 without the token. */
export function adminGuard(state: AdminApiState) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (!state.enabled) {
      throw new ApiError("method_not_allowed", `the admin API is off on this server: ${state.reason}`);
    }
    if (!bearerMatches(req.get("authorization"), state.token)) {
      throw new ApiError(
        "unauthorized",
        "the admin API needs Authorization: Bearer <STYLEKUBE_ADMIN_TOKEN>",
        {
          "WWW-Authenticate": 'Bearer realm="stylekube admin"',
        },
      );
    }
    next();
  };
}
