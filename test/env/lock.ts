// A cross-process lock around bringing the environment up or down: the test
// runner, `npm run env:up` and test files may all ask at once. The lock file
// holds the owner's pid; a lock whose owner died is taken over.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../../common/log/logger.js";
import { isRunning } from "./processes.js";

function tryAcquire(file: string): boolean {
  try {
    const fd = openSync(file, "wx");
    writeSync(fd, String(process.pid));
    closeSync(fd);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    return false;
  }
}

function ownerAlive(file: string): boolean {
  try {
    const owner = Number.parseInt(readFileSync(file, "utf8"), 10);
    // An empty file is a lock being written, unless it was left so long ago.
    if (!Number.isInteger(owner)) return Date.now() - statSync(file).mtimeMs < 5_000;
    return owner !== process.pid && isRunning(owner);
  } catch {
    return true; // just released: look again
  }
}

export async function withLock<T>(
  file: string,
  log: Logger,
  fn: () => Promise<T>,
  timeoutMs = 30 * 60_000,
): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  while (!tryAcquire(file)) {
    if (!ownerAlive(file)) {
      rmSync(file, { force: true });
      continue;
    }
    if (!announced) {
      log.info({ lock: file }, "another process is bringing the test environment up or down; waiting");
      announced = true;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}
