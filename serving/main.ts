// `stylekube serve`: the model server process (the StyleServer Deployment's
// entrypoint). Configuration from the environment (config.ts); SIGTERM or
// SIGINT stop it gracefully, which is what a rolling update sends.
import { packageVersion } from "../common/package-version.js";
import { createLogger } from "../common/log/logger.js";
import { readServerConfig } from "./config.js";
import { startServer } from "./server.js";

/** Runs the server until SIGTERM/SIGINT; resolves with the process exit code. */
export async function serveMain(): Promise<number> {
  const log = createLogger("serving");
  let config;
  try {
    config = readServerConfig();
  } catch (err) {
    log.error({ err }, "cannot start the model server");
    return 2;
  }
  // Input must never take the process down; a bug that escapes a handler is
  // logged loudly instead of killing every other request in flight.
  process.on("unhandledRejection", (reason) => {
    log.error({ err: reason }, "unhandled rejection");
  });

  let server;
  try {
    server = await startServer(config, log, packageVersion());
  } catch (err) {
    log.error({ err }, "cannot start the model server");
    return 1;
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once("SIGTERM", () => resolve("SIGTERM"));
    process.once("SIGINT", () => resolve("SIGINT"));
  });
  log.info({ signal }, "stopping");
  await server.close();
  return 0;
}
