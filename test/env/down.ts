// `npm run env:down`: stops every process env:up started. Server data under
// .stylekube/ stays until the next fresh env:up.
import { createLogger } from "../../common/log/logger.js";
import { existsSync } from "node:fs";
import { downTestEnv } from "./ensure.js";
import { LAYOUT } from "./layout.js";
import { withLock } from "./lock.js";
import { REAL_NODE } from "./real-node/layout.js";

const log = createLogger("env:down");
try {
  // The real node (if any) first: it runs against this environment's apiserver.
  if (existsSync(REAL_NODE.stateFile)) {
    const { stopRealNode } = await import("./real-node/node.js");
    await withLock(LAYOUT.lockFile, log, () => stopRealNode(log));
  }
  await downTestEnv(log);
} catch (err) {
  log.error({ err }, "env:down failed");
  process.exitCode = 1;
}
