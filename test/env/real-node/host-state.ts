// What the real node changes on the host, recorded before it starts and put
// back by env:down: sysctls the kubelet sets, nftables tables (iptables-nft
// chains KUBE-*), top-level cgroups (/kubepods, /k8s.io), mounts and network
// namespaces under the runtime's folders, the pod bridge, and folders the
// kubelet and containerd create at fixed paths. `diffHost` compares two
// snapshots, so teardown can prove the host is as it was.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import type { Logger } from "../../../common/log/logger.js";
import { POD_NETWORK, REAL_NODE } from "./layout.js";

/** Set by the kubelet (protectKernelDefaults: false) or by the bridge plugin. */
export const WATCHED_SYSCTLS = [
  "kernel.panic",
  "kernel.panic_on_oops",
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
  "net.ipv4.ip_forward",
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
] as const;

/** Fixed paths the kubelet, containerd, the CNI plugins or iptables create whatever their config says. */
export const WATCHED_PATHS = [
  "/run/containerd",
  "/run/netns",
  "/var/lib/cni",
  "/var/log/pods",
  "/var/log/containers",
  "/var/lib/kubelet",
  "/var/lib/containerd",
  "/etc/kubernetes",
  "/usr/libexec/kubernetes",
  "/run/xtables.lock",
] as const;

/** Top-level cgroups the kubelet (cgroupfs driver) and containerd make. */
export const OWNED_CGROUPS = ["kubepods", "k8s.io"] as const;

/** Mounts under these belong to the node (pod volumes, rootfs, netns, shm). */
const OWNED_MOUNT_PREFIXES = [REAL_NODE.root, "/run/containerd/", "/run/netns/", "/var/lib/kubelet/"];

export const HostSnapshotSchema = z.object({
  sysctls: z.record(z.string(), z.string().nullable()),
  /** `nft -s list table <family> <name>` for every table. */
  nftTables: z.record(z.string(), z.string()),
  /** cgroup hierarchy mount point → its top-level children. */
  cgroups: z.record(z.string(), z.array(z.string())),
  mounts: z.array(z.string()),
  links: z.array(z.string()),
  paths: z.record(z.string(), z.boolean()),
});
export type HostSnapshot = z.infer<typeof HostSnapshotSchema>;

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

function sysctlPath(name: string): string {
  return join("/proc/sys", ...name.split("."));
}

function readSysctl(name: string): string | null {
  try {
    return readFileSync(sysctlPath(name), "utf8").trim();
  } catch {
    return null;
  }
}

/**
 * Whether two `nft -s list table` texts hold the same rules. Rules that
 * iptables-nft made print with an extra space where an empty match sits
 * ("\t\t counter jump CNI-ADMIN"); the same table restored with `nft -f`
 * prints without it. Whitespace is not part of the rules.
 */
export function sameNftTable(a: string, b: string): boolean {
  const words = (text: string): string => text.split(/\s+/).filter(Boolean).join(" ");
  return words(a) === words(b);
}

function nftTables(): Record<string, string> {
  const tables: Record<string, string> = {};
  for (const line of run("nft", ["list", "tables"]).split("\n")) {
    const m = /^table (\S+) (\S+)$/.exec(line.trim());
    if (m) tables[`${m[1]} ${m[2]}`] = run("nft", ["-s", "list", "table", m[1]!, m[2]!]);
  }
  return tables;
}

/** Mount points from /proc/self/mountinfo (field 5), octal escapes decoded. */
function mountPoints(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) =>
      (l.split(" ")[4] ?? "").replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))),
    );
}

function cgroupHierarchies(): string[] {
  return readFileSync("/proc/self/mountinfo", "utf8")
    .split("\n")
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(" ")[4] ?? "")
    .filter((p) => p.startsWith("/sys/fs/cgroup"));
}

function childDirs(dir: string): string[] {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory())
      .map((d) => d.name)
      .sort();
  } catch {
    return [];
  }
}

function links(): string[] {
  return run("ip", ["-o", "link", "show"])
    .split("\n")
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined)
    .sort();
}

export function snapshotHost(): HostSnapshot {
  const cgroups: Record<string, string[]> = {};
  for (const h of cgroupHierarchies()) cgroups[h] = childDirs(h);
  return {
    sysctls: Object.fromEntries(WATCHED_SYSCTLS.map((s) => [s, readSysctl(s)])),
    nftTables: nftTables(),
    cgroups,
    mounts: [...new Set(mountPoints())].sort(),
    links: links(),
    paths: Object.fromEntries(WATCHED_PATHS.map((p) => [p, existsSync(p)])),
  };
}

/** Human-readable differences between two snapshots; empty when the host is as it was. */
export function diffHost(before: HostSnapshot, after: HostSnapshot): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before.sysctls))
    if (after.sysctls[k] !== v) out.push(`sysctl ${k}: ${v} → ${after.sysctls[k]}`);
  const tables = new Set([...Object.keys(before.nftTables), ...Object.keys(after.nftTables)]);
  for (const t of tables) {
    if (!(t in before.nftTables)) out.push(`nft table ${t}: added`);
    else if (!(t in after.nftTables)) out.push(`nft table ${t}: removed`);
    else if (!sameNftTable(before.nftTables[t]!, after.nftTables[t]!)) out.push(`nft table ${t}: changed`);
  }
  for (const [h, kids] of Object.entries(after.cgroups)) {
    const was = new Set(before.cgroups[h] ?? []);
    for (const k of kids) if (!was.has(k)) out.push(`cgroup ${h}/${k}: added`);
  }
  const mountsBefore = new Set(before.mounts);
  for (const m of after.mounts) if (!mountsBefore.has(m)) out.push(`mount ${m}: added`);
  const linksBefore = new Set(before.links);
  for (const l of after.links) if (!linksBefore.has(l)) out.push(`link ${l}: added`);
  for (const [p, existed] of Object.entries(before.paths))
    if (after.paths[p] !== existed) out.push(`${p}: ${existed ? "removed" : "added"}`);
  return out;
}

function unmount(path: string, log: Logger): void {
  try {
    run("umount", [path]);
  } catch {
    try {
      run("umount", ["-l", path]);
    } catch (err) {
      log.warn({ err, path }, "cannot unmount");
    }
  }
}

/** Every process in a cgroup subtree (the node's pods), for killing before the cgroups go. */
function cgroupPids(dir: string): number[] {
  const pids: number[] = [];
  const walk = (d: string): void => {
    try {
      for (const line of readFileSync(join(d, "cgroup.procs"), "utf8").split("\n"))
        if (line.trim()) pids.push(Number(line));
    } catch {
      // not a cgroup folder, or already gone
    }
    for (const c of childDirs(d)) walk(join(d, c));
  };
  walk(dir);
  return [...new Set(pids)];
}

export function killOwnedCgroupProcesses(): number {
  let killed = 0;
  for (const h of cgroupHierarchies())
    for (const name of OWNED_CGROUPS)
      for (const pid of cgroupPids(join(h, name))) {
        try {
          process.kill(pid, "SIGKILL");
          killed++;
        } catch {
          // gone
        }
      }
  return killed;
}

/** rmdir depth first; a cgroup folder holds only control files, which rmdir ignores. */
function removeCgroupTree(dir: string): void {
  for (const c of childDirs(dir)) removeCgroupTree(join(dir, c));
  try {
    execFileSync("rmdir", [dir], { stdio: "ignore" });
  } catch {
    // still busy or already gone: diffHost reports it
  }
}

/**
 * Puts back what `before` recorded. Processes must be gone first (the kubelet,
 * containerd, its shims and the pods). Returns what still differs.
 */
export function restoreHost(before: HostSnapshot, log: Logger): string[] {
  // Mounts first (deepest first), then what they were on; again while some
  // are left, as mounts can be stacked on one point.
  const had = new Set(before.mounts);
  const ownedMounts = (): string[] =>
    [...new Set(mountPoints())]
      .filter(
        (m) => !had.has(m) && OWNED_MOUNT_PREFIXES.some((p) => m === p.replace(/\/$/, "") || m.startsWith(p)),
      )
      .sort((a, b) => b.length - a.length);
  for (let round = 0; round < 5; round++) {
    const owned = ownedMounts();
    if (owned.length === 0) break;
    for (const m of owned) unmount(m, log);
  }

  // The pod bridge (the veths went with the pods' namespaces).
  if (!before.links.includes(POD_NETWORK.bridge) && links().includes(POD_NETWORK.bridge)) {
    try {
      run("ip", ["link", "delete", POD_NETWORK.bridge]);
    } catch (err) {
      log.warn({ err }, "cannot delete the pod bridge");
    }
  }

  for (const h of cgroupHierarchies()) {
    const was = new Set(before.cgroups[h] ?? []);
    for (const name of OWNED_CGROUPS) if (!was.has(name)) removeCgroupTree(join(h, name));
  }

  for (const [name, value] of Object.entries(before.sysctls)) {
    if (value === null || readSysctl(name) === value) continue;
    try {
      writeFileSync(sysctlPath(name), value);
    } catch (err) {
      log.warn({ err, sysctl: name }, "cannot restore sysctl");
    }
  }

  const now = nftTables();
  for (const [table, text] of Object.entries(now)) {
    const [family, name] = table.split(" ") as [string, string];
    if (!(table in before.nftTables)) run("nft", ["delete", "table", family, name]);
    else if (!sameNftTable(before.nftTables[table]!, text)) {
      run("nft", ["delete", "table", family, name]);
      execFileSync("nft", ["-f", "-"], { input: before.nftTables[table], stdio: ["pipe", "ignore", "pipe"] });
    }
  }
  for (const [table, text] of Object.entries(before.nftTables))
    if (!(table in now)) execFileSync("nft", ["-f", "-"], { input: text, stdio: ["pipe", "ignore", "pipe"] });

  for (const [path, existed] of Object.entries(before.paths))
    if (!existed && existsSync(path)) rmSync(path, { recursive: true, force: true });

  return diffHost(before, snapshotHost());
}
