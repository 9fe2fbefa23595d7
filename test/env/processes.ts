// Long-running server processes: started detached (their own process group,
// so they outlive `npm run env:up` and env:down can stop each group), with
// stdout and stderr appended to one log file per server.
import { spawn } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { basename } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ENV_DIR } from "./env-file.js";
import { logFile } from "./layout.js";

export interface ServerSpec {
  /** Key in TestEnv.pids and name of the log file. */
  name: string;
  binary: string;
  args: string[];
  env?: Record<string, string>;
}

export interface Started {
  name: string;
  pid: number;
  log: string;
}

export function startDetached(spec: ServerSpec): Started {
  const log = logFile(spec.name);
  const fd = openSync(log, "a");
  try {
    const child = spawn(spec.binary, spec.args, {
      cwd: ENV_DIR,
      detached: true,
      stdio: ["ignore", fd, fd],
      env: { ...process.env, ...spec.env },
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.binary} (see ${log})`);
    child.unref();
    return { name: spec.name, pid: child.pid, log };
  } finally {
    closeSync(fd);
  }
}

/**
 * Whether `pid` is alive and still runs `binaryName` (guards against the pid
 * having been reused by an unrelated process since env.json was written).
 */
export function isRunning(pid: number, binaryName?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    if (/^\d+ \(.*\) Z /.test(stat)) return false; // exited, not yet reaped by its parent
    if (!binaryName) return true;
    const argv0 = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0] ?? "";
    return basename(argv0) === binaryName;
  } catch {
    return true; // no /proc (not Linux): trust kill(0)
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // already gone
  }
}

/** SIGTERM to the process group, then SIGKILL after `graceMs`. */
export async function stopGroup(
  pid: number,
  binaryName: string | undefined,
  graceMs = 10_000,
): Promise<void> {
  if (!isRunning(pid, binaryName)) return;
  signalGroup(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid)) return;
    await sleep(100);
  }
  signalGroup(pid, "SIGKILL");
}

/** Polls `probe` until it returns true; throws with `what` (and the log to read) on timeout. */
export async function waitFor(
  what: string,
  probe: () => Promise<boolean>,
  opts: { timeoutMs: number; intervalMs?: number; process?: Started; binaryName?: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let lastError: unknown;
  for (;;) {
    // Liveness only: right after spawn the child may not have exec'd its binary
    // yet (its cmdline still says node), which under load takes a while; the
    // binary-name check is for recognising a reused pid in an old env.json.
    if (opts.process && !isRunning(opts.process.pid)) {
      throw new Error(`${opts.process.name} exited while waiting for ${what}; see ${opts.process.log}`);
    }
    try {
      if (await probe()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const hint = opts.process ? `; see ${opts.process.log}` : "";
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : "";
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${what}${cause}${hint}`);
    }
    await sleep(opts.intervalMs ?? 200);
  }
}
