// Stopping the environment: each recorded process group gets SIGTERM (then
// SIGKILL), dependants first; env.json goes away, server data stays.
import { existsSync, readFileSync, rmSync } from "node:fs";
import type { Logger } from "../../common/log/logger.js";
import { z } from "zod";
import { ENV_DIR, TestEnvSchema } from "./env-file.js";
import { PODMAN_SERVICE, SERVER_NAMES } from "./health.js";
import { LAYOUT } from "./layout.js";
import { stopGroup } from "./processes.js";

/** Stop order: what depends on a server stops before it. */
const STOP_ORDER: readonly string[] = [...SERVER_NAMES].reverse();

export async function stopProcesses(pids: Record<string, number>, log: Logger): Promise<void> {
  const names = Object.keys(pids).sort((a, b) => STOP_ORDER.indexOf(a) - STOP_ORDER.indexOf(b));
  for (const name of names) {
    const pid = pids[name]!;
    const known = name === PODMAN_SERVICE || SERVER_NAMES.includes(name as (typeof SERVER_NAMES)[number]);
    await stopGroup(pid, known ? name : undefined);
    log.info({ server: name, pid }, "stopped");
  }
}

const PidsSchema = z.record(z.string(), z.number().int());

function readJson(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch {
    return undefined;
  }
}

/**
 * Stops what env.json records, and what an interrupted env:up left behind
 * (LAYOUT.startingPidsFile); removes both files.
 */
export async function stopTestEnv(log: Logger): Promise<void> {
  const pids: Record<string, number>[] = [];
  let containers = false;
  if (existsSync(LAYOUT.envFile)) {
    const parsed = TestEnvSchema.safeParse(readJson(LAYOUT.envFile));
    if (parsed.success) {
      pids.push(parsed.data.pids);
      containers = parsed.data.provider === "testcontainers";
    } else log.warn({ envFile: LAYOUT.envFile }, "env.json does not match TestEnvSchema; removing it");
  }
  if (existsSync(LAYOUT.startingPidsFile)) {
    const parsed = PidsSchema.safeParse(readJson(LAYOUT.startingPidsFile));
    if (parsed.success) pids.push(parsed.data);
  }
  // testcontainers provider: its containers first (they outlive the podman
  // service that started them), found by their owner label.
  if (containers || pids.some((p) => PODMAN_SERVICE in p)) {
    const { removeOwnedContainers } = await import("./containers/owned.js");
    const removed = removeOwnedContainers(ENV_DIR);
    log.info({ containers: removed.map((id) => id.slice(0, 12)) }, "removed the provider's containers");
  }
  if (pids.length === 0) log.info({ envDir: ENV_DIR }, "no test environment recorded: nothing to stop");
  for (const recorded of pids) await stopProcesses(recorded, log);
  rmSync(LAYOUT.envFile, { force: true });
  rmSync(LAYOUT.startingPidsFile, { force: true });
}
