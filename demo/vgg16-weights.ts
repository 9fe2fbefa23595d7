// The demo's VGG-16 loss-network weights, by the weights contract of the CLI:
// `stylekube weights pull vgg16` downloads (or finds in its cache) pretrained
// ImageNet weights and prints the local file's path as the LAST line of
// stdout; a non-zero exit means every source failed. Progress and reasons go
// to stderr, which the demo shows as it comes.
import { spawn } from "node:child_process";

export type WeightsOutcome = { ok: true; path: string; seconds: number } | { ok: false; reason: string };

export function pullVgg16Weights(
  cli: string[],
  options: { cwd: string; onLine: (line: string) => void; timeoutMs?: number },
): Promise<WeightsOutcome> {
  const start = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cli, "weights", "pull", "vgg16"], {
      cwd: options.cwd,
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderrTail = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-2000);
      for (const line of chunk.split("\n")) if (line.trim() !== "") options.onLine(line);
    });
    // Large first download on a slow link: generous, but bounded.
    const timer = setTimeout(() => child.kill("SIGTERM"), options.timeoutMs ?? 15 * 60_000);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ ok: false, reason: `could not run stylekube weights pull: ${err.message}` });
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      const lines = stdout
        .split("\n")
        .map((l) => l.trim())
        .filter((l) => l !== "");
      const path = lines.at(-1);
      if (code === 0 && path !== undefined) {
        resolve({ ok: true, path, seconds: (performance.now() - start) / 1000 });
        return;
      }
      const last = stderrTail.trim().split("\n").at(-1) ?? "";
      resolve({
        ok: false,
        reason: `stylekube weights pull vgg16 exited ${code ?? signal}${last ? `: ${last}` : ""}`,
      });
    });
  });
}
