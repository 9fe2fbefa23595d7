// The stylekube command line as a user runs it: a child process of
// cli/main.ts (through tsx), with its exit code and both output streams.
import { spawn } from "node:child_process";
import { resolve } from "node:path";
import { REPO_ROOT } from "../env/env-file.js";

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runStylekube(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ["--import", "tsx", resolve(REPO_ROOT, "cli/main.ts"), ...args], {
      cwd: REPO_ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}
