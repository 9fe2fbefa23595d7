// `npm run bench -- recipe --specs a.yaml,b.yaml,… --cpu-minutes 15 [--parallel 2] [--nats URL]`
//
// Training recipes compared per CPU-hour: each spec is trained by
// `stylekube train --local` (one worker, one thread) until its process tree
// has used the given CPU time, then stopped. What is compared afterwards is
// each run's newest checkpoint, judged by the quality bench on held-out
// photos (docs/gallery.md, "Choosing the recipe"). CPU time rather than wall
// time is the budget, so runs that share the machine with other work, or
// with each other, still get equal shares of computation. A run that is
// stopped and started again continues from its checkpoint and is charged its
// earlier CPU time (kept beside its checkpoints), so a comparison can be
// spread over several sessions.
//
// Each run gets a low autogroup nice (this kernel shares CPU between process
// sessions, not processes), so tests and builds running beside it do not
// starve it. Prints one line per finished run and one JSON line:
//   {"bench":"recipe","cpuMinutes":…,"runs":[{"spec":…,"cpuSeconds":…,"step":…,"checkpoint":…}]}
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parse } from "yaml";
import { openStore } from "../common/storage/index.js";
import { latestCheckpoint } from "../trainer/checkpoint/checkpoints.js";
import { processTreeCpuSeconds } from "./support/process-cpu.js";

const { values } = parseArgs({
  args: process.argv.slice(2),
  strict: true,
  options: {
    specs: { type: "string" },
    "cpu-minutes": { type: "string", default: "15" },
    parallel: { type: "string", default: "2" },
    nats: { type: "string" },
    "autogroup-nice": { type: "string", default: "-15" },
  },
});
if (values.specs === undefined) {
  console.error("bench recipe: --specs a.yaml,b.yaml is required");
  process.exit(2);
}
const specs = values.specs.split(",");
const budgetSeconds = Number(values["cpu-minutes"]) * 60;
const parallel = Number(values.parallel);
const cli = fileURLToPath(new URL("../cli/main.ts", import.meta.url));

interface RunResult {
  spec: string;
  cpuSeconds: number;
  step: number | undefined;
  checkpoint: string | undefined;
}

/** Where a run's CPU seconds so far (this and earlier sessions) are kept, beside its output (file:// outputs only). */
function spentFile(output: string): string | undefined {
  return output.startsWith("file://") ? join(fileURLToPath(output), "cpu-seconds.txt") : undefined;
}

function readSpent(output: string): number {
  const file = spentFile(output);
  try {
    return file === undefined ? 0 : Number(readFileSync(file, "utf8"));
  } catch {
    return 0;
  }
}

function recordSpent(output: string, seconds: number): void {
  const file = spentFile(output);
  if (file === undefined) return;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, seconds.toFixed(1));
}

function setAutogroupNice(pid: number, nice: string): void {
  try {
    writeFileSync(`/proc/${pid}/autogroup`, nice);
  } catch (err) {
    console.error(`bench recipe: cannot set autogroup nice of ${pid}: ${String(err)}`);
  }
}

async function trainWithinBudget(specFile: string): Promise<RunResult> {
  const spec = parse(await readFile(specFile, "utf8")) as { spec: { output: string } };
  const output = spec.spec.output;
  const spent = readSpent(output);
  const args = ["--import", "tsx", cli, "train", "-f", specFile, "--local"];
  if (values.nats !== undefined) args.push("--nats", values.nats);
  const child: ChildProcess = spawn(process.execPath, args, {
    detached: true, // its own session, so its own autogroup
    stdio: ["ignore", "inherit", "inherit"],
    env: { ...process.env, STYLEKUBE_WASM_THREADS: "1" },
  });
  const pid = child.pid!;
  setAutogroupNice(pid, values["autogroup-nice"]!);
  const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
  let used = spent;
  for (;;) {
    const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
    if (done) break;
    used = spent + processTreeCpuSeconds(pid);
    recordSpent(output, used);
    if (used >= budgetSeconds) {
      process.kill(-pid, "SIGTERM");
      await exited;
      break;
    }
  }
  const latest = await latestCheckpoint(openStore(output), output);
  return { spec: specFile, cpuSeconds: Math.round(used), step: latest?.step, checkpoint: latest?.uri };
}

const queue = [...specs];
const results: RunResult[] = [];
await Promise.all(
  Array.from({ length: Math.min(parallel, queue.length) }, async () => {
    for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
      const result = await trainWithinBudget(next);
      console.log(
        `${result.spec}: ${result.cpuSeconds} CPU-s, newest checkpoint step ${result.step ?? "none"}`,
      );
      results.push(result);
    }
  }),
);
console.log(JSON.stringify({ bench: "recipe", cpuMinutes: budgetSeconds / 60, runs: results }));
