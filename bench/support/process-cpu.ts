// CPU time of a process and all its descendants, from /proc (Linux): what a
// budget "in CPU-minutes" charges, whatever else shares the machine.
import { readdirSync, readFileSync } from "node:fs";

/** Linux reports times in USER_HZ ticks, 100 per second on every architecture it supports. */
const TICKS_PER_SECOND = 100;

/** The process's stat fields after its "(comm)", which may itself hold spaces and parentheses. */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return undefined; // exited meanwhile
  }
}

/** utime + stime of the process, plus cutime + cstime of its reaped children, in ticks. */
function ownTicks(pid: number): number {
  const f = statFields(pid);
  if (f === undefined) return 0;
  // stat(5) fields 14–17, counted from 1 with pid and comm: here from 0 after them.
  return Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
}

function children(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) =>
      readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8")
        .split(" ")
        .filter((s) => s.length > 0)
        .map(Number),
    );
  } catch {
    return [];
  }
}

/** CPU seconds used so far by `pid` and every live or reaped descendant. */
export function processTreeCpuSeconds(pid: number): number {
  let ticks = 0;
  const pending = [pid];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    ticks += ownTicks(next);
    pending.push(...children(next));
  }
  return ticks / TICKS_PER_SECOND;
}
