// kubectl against the e2e cluster, as a user would drive it: apply, get -o
// json, exec, logs, scale, port-forward. Every call is bounded by a timeout.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { promisify } from "node:util";
import type { E2eContext } from "./context.js";

const execFileAsync = promisify(execFile);

export interface Kubectl {
  run(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  json<T = Record<string, unknown>>(args: string[]): Promise<T>;
  /** `kubectl port-forward` on a free local port; resolves with that port once it listens. */
  portForward(
    target: string,
    namespace: string,
    remotePort: number,
  ): Promise<{ port: number; stop: () => void }>;
}

export function kubectl(ctx: E2eContext): Kubectl {
  const base = ["--kubeconfig", ctx.kubeconfig];
  const run: Kubectl["run"] = async (args, opts = {}) => {
    if (opts.input !== undefined) {
      return new Promise((res, rej) => {
        const child = spawn(ctx.kubectl, [...base, ...args], { stdio: ["pipe", "pipe", "pipe"] });
        let out = "";
        let err = "";
        const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
        child.stdout.on("data", (d: Buffer) => (out += d.toString()));
        child.stderr.on("data", (d: Buffer) => (err += d.toString()));
        child.on("exit", (code) => {
          clearTimeout(timer);
          if (code === 0) res(out);
          else rej(new Error(`kubectl ${args.join(" ")}: exit ${code}: ${err}`));
        });
        child.stdin.end(opts.input);
      });
    }
    try {
      const { stdout } = await execFileAsync(ctx.kubectl, [...base, ...args], {
        timeout: opts.timeoutMs ?? 60_000,
        maxBuffer: 32 * 1024 * 1024,
      });
      return stdout;
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubectl ${args.join(" ")}: ${e.stderr || e.message}`, { cause: err });
    }
  };
  return {
    run,
    json: async <T>(args: string[]) => JSON.parse(await run([...args, "-o", "json"])) as T,
    portForward: (target, namespace, remotePort) =>
      new Promise((res, rej) => {
        const child: ChildProcess = spawn(
          ctx.kubectl,
          [...base, "-n", namespace, "port-forward", "--address", "127.0.0.1", target, `:${remotePort}`],
          { stdio: ["ignore", "pipe", "pipe"] },
        );
        let err = "";
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          rej(new Error(`port-forward ${target}: no local port within 30 s: ${err}`));
        }, 30_000);
        child.stderr?.on("data", (d: Buffer) => (err += d.toString()));
        child.stdout?.on("data", (d: Buffer) => {
          const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(d.toString());
          if (m) {
            clearTimeout(timer);
            res({ port: Number(m[1]), stop: () => child.kill("SIGTERM") });
          }
        });
        child.on("exit", (code) => {
          clearTimeout(timer);
          rej(new Error(`port-forward ${target} exited ${code}: ${err}`));
        });
      }),
  };
}
