// The one entry point for everything that needs the test environment: reuse
// the recorded one when it is healthy (about a second, most of it loading
// modules), otherwise tear what is left down and bring up a fresh one.
import { existsSync } from "node:fs";
import { createLogger, type Logger } from "../../common/log/logger.js";
import { readTestEnv, selectedProvider, type TestEnv } from "./env-file.js";
import { checkHealth } from "./health.js";
import { LAYOUT } from "./layout.js";
import { withLock } from "./lock.js";
import { stopTestEnv } from "./stop.js";

async function healthyRecordedEnv(log: Logger, quiet = false): Promise<TestEnv | undefined> {
  if (!existsSync(LAYOUT.envFile)) return undefined;
  let env: TestEnv;
  try {
    env = readTestEnv(LAYOUT.envFile);
  } catch (err) {
    log.warn({ err, envFile: LAYOUT.envFile }, "unreadable env.json");
    return undefined;
  }
  // An explicit STYLEKUBE_ENV_PROVIDER that differs replaces the recorded
  // environment; unset, whatever is up is used.
  if (process.env.STYLEKUBE_ENV_PROVIDER && selectedProvider() !== env.provider) {
    if (!quiet)
      log.info(
        { recorded: env.provider, asked: selectedProvider() },
        "recorded test environment has another provider",
      );
    return undefined;
  }
  const health = await checkHealth(env);
  if (health.healthy) return env;
  if (!quiet) log.info({ reason: health.reason }, "recorded test environment is not healthy");
  return undefined;
}

export async function ensureTestEnv(log: Logger = createLogger("test-env")): Promise<TestEnv> {
  const current = await healthyRecordedEnv(log);
  if (current) {
    log.info(
      { envFile: LAYOUT.envFile, provider: current.provider },
      "test environment already up and healthy",
    );
    return current;
  }
  return withLock(LAYOUT.lockFile, log, async () => {
    // Someone else may have brought it up while we waited for the lock.
    const meanwhile = await healthyRecordedEnv(log, true);
    if (meanwhile) return meanwhile;
    await stopTestEnv(log);
    // Loaded only here: the Kubernetes and S3 clients take a while to import.
    const { startTestEnv } = await import("./start.js");
    return startTestEnv(log);
  });
}

export async function downTestEnv(log: Logger = createLogger("test-env")): Promise<void> {
  await withLock(LAYOUT.lockFile, log, () => stopTestEnv(log));
}
