// ONNX Runtime's per-node profile (the JSON file enableProfiling writes)
// summed per op type, per session run: where a step's time goes.
import { readFile } from "node:fs/promises";
import { z } from "zod";

const ProfileEvent = z.object({
  cat: z.string(),
  name: z.string(),
  dur: z.number(),
  args: z.object({ op_name: z.string().optional() }).passthrough().optional(),
});

export interface OpTime {
  op: string;
  /** Kernel time per run, ms. */
  ms: number;
  /** Nodes of this op type run per run. */
  nodes: number;
}

/** Kernel time per op type, per session run, largest first; `runs` session runs in the file. */
export async function opTimes(file: string): Promise<{ runs: number; totalMs: number; ops: OpTime[] }> {
  const events = z.array(ProfileEvent).parse(JSON.parse(await readFile(file, "utf8")));
  const runs = events.filter((e) => e.cat === "Session" && e.name === "model_run").length;
  if (runs === 0) throw new Error(`${file}: no session run in the profile`);
  const byOp = new Map<string, { us: number; nodes: number }>();
  for (const e of events) {
    const op = e.args?.op_name;
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || op === undefined) continue;
    const entry = byOp.get(op) ?? { us: 0, nodes: 0 };
    entry.us += e.dur;
    entry.nodes++;
    byOp.set(op, entry);
  }
  const ops = [...byOp]
    .map(([op, { us, nodes }]) => ({ op, ms: us / 1000 / runs, nodes: nodes / runs }))
    .sort((a, b) => b.ms - a.ms);
  return { runs, totalMs: ops.reduce((t, o) => t + o.ms, 0), ops };
}
