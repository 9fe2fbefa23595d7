// `npm run env:down`: stops every process env:up started. Server data under
// .stylekube/ stays until the next fresh env:up.
import { createLogger } from "../../common/log/logger.js";
import { downTestEnv } from "./ensure.js";

const log = createLogger("env:down");
try {
  await downTestEnv(log);
} catch (err) {
  log.error({ err }, "env:down failed");
  process.exitCode = 1;
}
