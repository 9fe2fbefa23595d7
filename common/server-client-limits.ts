// The model server's limits on its clients (serving/config.ts) that the Helm
// chart can set for every StyleServer pod: values server.clientLimits → the
// operator's STYLEKUBE_SERVER_CLIENT_LIMITS (JSON) → each server pod's
// environment. A key left out keeps the server's own (safe) default; the
// server validates the values at start, naming the variable.
import { z } from "zod";

/** Each limit's key in the chart's values and the server's variable it sets. */
export const SERVER_CLIENT_LIMIT_ENV = {
  headersTimeoutMs: "STYLEKUBE_HEADERS_TIMEOUT_MS",
  bodyTimeoutMs: "STYLEKUBE_BODY_TIMEOUT_MS",
  minUploadBytesPerSecond: "STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND",
  minUploadWindowMs: "STYLEKUBE_MIN_UPLOAD_WINDOW_MS",
  maxBodyBytes: "STYLEKUBE_MAX_BODY_BYTES",
  maxInflightBodyBytes: "STYLEKUBE_MAX_INFLIGHT_BODY_BYTES",
} as const;
type LimitKey = keyof typeof SERVER_CLIENT_LIMIT_ENV;

const count = z.number().int().min(0);
export const ServerClientLimitsSchema = z
  .object(
    Object.fromEntries(Object.keys(SERVER_CLIENT_LIMIT_ENV).map((k) => [k, count.optional()])) as Record<
      LimitKey,
      z.ZodOptional<typeof count>
    >,
  )
  .strict();
export type ServerClientLimits = z.infer<typeof ServerClientLimitsSchema>;

/** The environment variables a server pod gets for these limits (only the ones set). */
export function serverClientLimitsEnv(limits: ServerClientLimits): { name: string; value: string }[] {
  return (Object.keys(SERVER_CLIENT_LIMIT_ENV) as LimitKey[])
    .filter((k) => limits[k] !== undefined)
    .map((k) => ({ name: SERVER_CLIENT_LIMIT_ENV[k], value: String(limits[k]) }));
}
