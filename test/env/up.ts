// `npm run env:up`: brings the test environment up, or confirms the running
// one is healthy, and prints where env.json is.
import { createLogger } from "../../common/log/logger.js";
import { ENV_FILE } from "./env-file.js";
import { ensureTestEnv } from "./ensure.js";
import { LAYOUT } from "./layout.js";
import { withLock } from "./lock.js";

// The SDK's notice about future Node versions is noise on every env:up.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const log = createLogger("env:up");
try {
  const env = await ensureTestEnv(log);
  log.info({ envFile: ENV_FILE, kubernetesVersion: env.kubernetesVersion, logsDir: env.logsDir }, "ready");
  // Opt-in: a real kubelet + containerd node (real-node/, docs/real-node.md).
  if (process.argv.includes("--real-node") || process.env.STYLEKUBE_REAL_NODE === "1") {
    const { ensureRealNode } = await import("./real-node/node.js");
    const node = await withLock(LAYOUT.lockFile, log, () => ensureRealNode(env, log));
    log.info({ node: node.nodeName, natsUrl: node.natsUrl, s3: node.s3?.endpoint }, "real node ready");
  }
} catch (err) {
  log.error({ err }, "env:up failed");
  process.exitCode = 1;
}
