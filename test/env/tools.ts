// The server binaries the test environment runs, as built by build-tools.sh
// into a cache keyed by version. The versions are read from the script itself
// (same env overrides), so it stays the single place where they are pinned.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import type { Logger } from "../../common/log/logger.js";

export const BUILD_SCRIPT = resolve(import.meta.dirname, "build-tools.sh");

export const TOOLS_DIR = process.env.STYLEKUBE_TOOLS_DIR ?? join(homedir(), ".cache/stylekube/tools");

/** build-tools.sh group → the binaries it produces and its version variable. */
const GROUPS = {
  kubernetes: {
    dir: "kubernetes",
    versionVar: "K8S_VERSION",
    binaries: ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"],
  },
  kwok: { dir: "kwok", versionVar: "KWOK_VERSION", binaries: ["kwok"] },
  minio: { dir: "minio", versionVar: "MINIO_VERSION", binaries: ["minio"] },
  nats: { dir: "nats-server", versionVar: "NATS_VERSION", binaries: ["nats-server"] },
} as const;

type Group = keyof typeof GROUPS;
export type ToolName = (typeof GROUPS)[Group]["binaries"][number];

export interface Tools {
  kubernetesVersion: string;
  /** Absolute path of each binary. */
  bin: Record<ToolName, string>;
}

/** `NAME="${NAME:-default}"` in build-tools.sh, overridden by the environment like the script does. */
export function pinnedVersion(variable: string): string {
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  const script = readFileSync(BUILD_SCRIPT, "utf8");
  const match = new RegExp(`^${variable}="\\$\\{${variable}:-([^}]+)\\}"`, "m").exec(script);
  if (!match?.[1]) throw new Error(`cannot find the pinned ${variable} in ${BUILD_SCRIPT}`);
  return match[1];
}

function resolveTools(): { tools: Tools; missing: Group[] } {
  const bin = {} as Record<ToolName, string>;
  const missing: Group[] = [];
  for (const [group, spec] of Object.entries(GROUPS) as [Group, (typeof GROUPS)[Group]][]) {
    const binDir = join(TOOLS_DIR, `${spec.dir}-${pinnedVersion(spec.versionVar)}`, "bin");
    for (const name of spec.binaries) {
      bin[name] = join(binDir, name);
      if (!existsSync(bin[name]) && !missing.includes(group)) missing.push(group);
    }
  }
  return { tools: { kubernetesVersion: pinnedVersion("K8S_VERSION"), bin }, missing };
}

function runBuild(groups: Group[], log: Logger): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    // The script's own progress (and go's) goes straight to our stderr.
    const child = spawn("bash", [BUILD_SCRIPT, ...groups], { stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`build-tools.sh ${groups.join(" ")} failed (${signal ?? `exit ${code}`})`));
    });
    log.info({ groups }, "building missing tools from Go modules (kubernetes takes several minutes)");
  });
}

/** Returns the pinned binaries, building any group that is not in the cache yet. */
export async function ensureTools(log: Logger): Promise<Tools> {
  const first = resolveTools();
  if (first.missing.length === 0) return first.tools;
  const started = Date.now();
  await runBuild(first.missing, log);
  const second = resolveTools();
  if (second.missing.length > 0)
    throw new Error(`build-tools.sh did not produce ${second.missing.join(", ")}`);
  log.info({ groups: first.missing, seconds: Math.round((Date.now() - started) / 1000) }, "tools built");
  return second.tools;
}

/** One directory with a link to every tool, for tests that shell out (TestEnv.binDir). */
export function linkBinDir(tools: Tools, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [name, path] of Object.entries(tools.bin)) symlinkSync(path, join(dir, name));
  return dir;
}
