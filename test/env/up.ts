// `npm run env:up`: brings the test environment up, or confirms the running
// one is healthy, and prints where env.json is.
import { createLogger } from "../../common/log/logger.js";
import { ENV_FILE } from "./env-file.js";
import { ensureTestEnv } from "./ensure.js";

// The SDK's notice about future Node versions is noise on every env:up.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const log = createLogger("env:up");
try {
  const env = await ensureTestEnv(log);
  log.info({ envFile: ENV_FILE, kubernetesVersion: env.kubernetesVersion, logsDir: env.logsDir }, "ready");
} catch (err) {
  log.error({ err }, "env:up failed");
  process.exitCode = 1;
}
