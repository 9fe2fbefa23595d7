// `npm run bench -- <name> [args…]`: runs bench/<name>.ts (e.g. train-step, quality,
// allreduce, controller) in its own Node process with the given arguments,
// so each benchmark starts from a clean heap and its own tfjs engine.
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts")
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (name === undefined || !existsSync(join(here, `${name}.ts`)) || name === "run") {
  console.error(`usage: npm run bench -- <name> [--quick] …   (name: ${available.join(", ")})`);
  process.exit(2);
}
const child = spawn(process.execPath, ["--import", "tsx", join(here, `${name}.ts`), ...args], {
  stdio: "inherit",
});
child.on("exit", (code, signal) => process.exit(code ?? (signal !== null ? 1 : 0)));
