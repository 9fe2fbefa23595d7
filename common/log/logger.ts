import { pino, type Logger } from "pino";

export type { Logger };

/**
 * Paths that may carry credentials anywhere in a logged object. pino replaces
 * them before serialisation, so a secret never reaches a log line even when a
 * whole config object is logged by mistake.
 */
export const REDACTED_PATHS = [
  "secretAccessKey",
  "*.secretAccessKey",
  "accessKeyId",
  "*.accessKeyId",
  "*.*.accessKeyId",
  "*.*.secretAccessKey",
  "sessionToken",
  "*.sessionToken",
  "*.*.sessionToken",
  "password",
  "*.password",
  "*.*.password",
  "token",
  "*.token",
  "*.*.token",
  "authorization",
  "*.authorization",
  "*.headers.authorization",
  "credentials",
  "*.credentials",
];

/** One structured JSON logger per process; components take a child of it. */
export function createLogger(component: string, level = process.env.STYLEKUBE_LOG_LEVEL ?? "info"): Logger {
  return pino({
    name: "stylekube",
    level,
    base: { component, pid: process.pid },
    redact: { paths: REDACTED_PATHS, censor: "[redacted]" },
    timestamp: pino.stdTimeFunctions.isoTime,
  });
}
