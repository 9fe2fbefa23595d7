// The model server as a child process for the serving benchmarks: the same
// entry the serving integration tests start, on a free loopback port, waited
// for until /v2/health/ready answers.
import { spawn, type ChildProcess, type StdioOptions } from "node:child_process";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../../test/integration/serving/support.js";

export interface ModelServerOptions {
  /** The checkout whose server runs (its test/integration/serving/serve-entry.ts). */
  root: string;
  /** STYLEKUBE_* settings beyond the log level, host and port. */
  env: Record<string, string>;
  stdio: StdioOptions;
  readyTimeoutMs: number;
}

export async function startModelServer(
  options: ModelServerOptions,
): Promise<{ url: string; port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(options.root, "test/integration/serving/serve-entry.ts")],
    {
      cwd: options.root,
      env: {
        ...process.env,
        STYLEKUBE_LOG_LEVEL: "warn",
        STYLEKUBE_HTTP_HOST: "127.0.0.1",
        STYLEKUBE_HTTP_PORT: String(port),
        ...options.env,
      },
      stdio: options.stdio,
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let waited = 0; waited < options.readyTimeoutMs; waited += 100) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}`);
    const ready = await fetch(`${url}/v2/health/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, port, child };
    await sleep(100);
  }
  throw new Error(`server not ready after ${options.readyTimeoutMs / 1000} s`);
}
