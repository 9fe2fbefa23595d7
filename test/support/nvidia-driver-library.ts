// A real NVIDIA driver user-space library (libcuda.so.1) for tests on a
// machine without a GPU: Debian's libcuda1 package (non-free), fetched with
// apt from a private list so the host's apt sources stay as they are, and
// unpacked (never installed) into ~/.cache/stylekube/cuda/driver. With it,
// the CUDA runtime gets as far as asking the driver for a device, which is
// how far any process gets on a machine with no NVIDIA kernel module.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";

/** Debian's newest NVIDIA driver at the time of writing (sid and trixie carry 550.163.01). */
export const DEBIAN_LIBCUDA = { version: "550.163.01", suites: ["sid", "trixie"] } as const;

/** The folder holding libcuda.so.1 from Debian's libcuda1, fetched on first use. */
export function debianLibcudaDir(): string {
  const root = join(homedir(), ".cache/stylekube/cuda/driver", DEBIAN_LIBCUDA.version);
  const dir = join(root, "usr/lib/x86_64-linux-gnu/nvidia/current");
  if (existsSync(join(dir, "libcuda.so.1"))) return dir;
  const apt = join(root, "..", "apt");
  for (const d of [
    "etc/apt/sources.list.d",
    "etc/apt/preferences.d",
    "lists/partial",
    "cache/archives/partial",
  ])
    mkdirSync(join(apt, d), { recursive: true });
  writeFileSync(
    join(apt, "etc/apt/sources.list"),
    DEBIAN_LIBCUDA.suites
      .map(
        (s) =>
          `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian ${s} non-free\n`,
      )
      .join(""),
  );
  const options = [
    "-o",
    `Dir::Etc=${join(apt, "etc/apt")}`,
    "-o",
    `Dir::State::Lists=${join(apt, "lists")}`,
    "-o",
    `Dir::Cache=${join(apt, "cache")}`,
    "-o",
    "APT::Sandbox::User=root",
  ];
  execFileSync("apt-get", [...options, "update"], { stdio: "ignore", timeout: 180_000 });
  const debs = join(apt, "debs");
  mkdirSync(debs, { recursive: true });
  const candidates = execFileSync("apt-cache", [...options, "madison", "libcuda1"], { encoding: "utf8" });
  const version = candidates
    .split("\n")
    .map((l) => l.split("|")[1]?.trim() ?? "")
    .find((v) => v.startsWith(`${DEBIAN_LIBCUDA.version}-`));
  if (version === undefined)
    throw new Error(`Debian's libcuda1 ${DEBIAN_LIBCUDA.version} not found:\n${candidates}`);
  execFileSync("apt-get", [...options, "download", `libcuda1=${version}`], {
    cwd: debs,
    stdio: "ignore",
    timeout: 180_000,
  });
  const deb = readdirSync(debs).find((f) => f.startsWith("libcuda1_") && f.endsWith(".deb"));
  if (deb === undefined) throw new Error("apt-get download libcuda1 left no .deb");
  execFileSync("dpkg", ["-x", join(debs, deb), root]);
  if (!existsSync(join(dir, "libcuda.so.1"))) throw new Error(`${deb} has no ${dir}/libcuda.so.1`);
  return dir;
}
