// The podman CLI with the project's settings (images/containers.conf: runc,
// no raised ulimits, cgroupfs), shared by the real node and the
// testcontainers provider. The host's /etc/containers is left alone.
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { REPO_ROOT } from "./env-file.js";
import { found } from "./prerequisites.js";

export const CONTAINERS_CONF = resolve(REPO_ROOT, "images/containers.conf");

/** What podman (CLI or API service) runs with on top of the caller's environment. */
export function podmanSettings(): { CONTAINERS_CONF: string } {
  return { CONTAINERS_CONF: process.env.CONTAINERS_CONF ?? CONTAINERS_CONF };
}

export function podman(args: string[]): string {
  return execFileSync("podman", args, {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...podmanSettings() },
    maxBuffer: 16 * 1024 * 1024,
  });
}

export function podmanHasImage(name: string): boolean {
  try {
    podman(["image", "exists", name]);
    return true;
  } catch {
    return false;
  }
}

/** Why podman cannot be used here, or undefined when it can. */
export function podmanUnavailable(): string | undefined {
  if (!found("podman")) return "podman is not installed (apt-get install podman runc)";
  try {
    podman(["info", "--format", "{{.Host.OCIRuntime.Name}}"]);
    return undefined;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    return `podman does not work here: ${stderr || (err as Error).message}`;
  }
}

/**
 * An image of one static binary and nothing else (`FROM scratch`), run as
 * `user`: nothing can be pulled here, so the environment's own servers and
 * the real node's pause image are made from the binaries build-tools.sh built.
 */
export function buildScratchImage(name: string, binary: string, user: string): void {
  const ctx = mkdtempSync(join(tmpdir(), "stylekube-scratch-image-"));
  try {
    copyFileSync(binary, join(ctx, "entrypoint"));
    writeFileSync(
      join(ctx, "Containerfile"),
      `FROM scratch\nCOPY entrypoint /entrypoint\nUSER ${user}\nENTRYPOINT ["/entrypoint"]\n`,
    );
    podman(["build", "--network", "none", "-q", "-t", name, ctx]);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}
