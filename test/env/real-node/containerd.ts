// containerd (Debian's 1.6, with runc) for the real node: its own root, state
// and socket under REAL_NODE, the CRI plugin pointed at the node's CNI config
// and at a locally built pause image, since no registry can be reached.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { startDetached, waitFor, type Started } from "../processes.js";
import { CNI_BIN_DIR, REAL_NODE } from "./layout.js";

export const CONTAINERD_NAMESPACE = "k8s.io";

function containerdConfig(sandboxImage: string): string {
  return `version = 2
root = "${REAL_NODE.containerdRoot}"
state = "${REAL_NODE.containerdState}"
# Nothing listens beyond the unix socket: no TCP debug or metrics endpoints.
[grpc]
  address = "${REAL_NODE.containerdSocket}"
[ttrpc]
  address = ""
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${REAL_NODE.containerdRoot}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  # The process cannot lower oom_score_adj (a VM or container without
  # CAP_SYS_RESOURCE over it): without this every sandbox fails with
  # "can't get final child's PID from pipe".
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${CNI_BIN_DIR}"
    conf_dir = "${REAL_NODE.cniConfDir}"
    max_conf_num = 1
`;
}

export function ctr(args: string[], input?: Buffer): string {
  return execFileSync(
    "ctr",
    ["--address", REAL_NODE.containerdSocket, "--namespace", CONTAINERD_NAMESPACE, ...args],
    {
      encoding: "utf8",
      input,
      stdio: [input ? "pipe" : "ignore", "pipe", "pipe"],
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

export async function startContainerd(
  sandboxImage: string,
  onStarted: (p: Started) => void,
): Promise<Started> {
  for (const dir of [REAL_NODE.containerdRoot, REAL_NODE.containerdState])
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(REAL_NODE.containerdConfig, containerdConfig(sandboxImage));
  const process = startDetached({
    name: "real-node-containerd",
    binary: "containerd",
    args: ["--config", REAL_NODE.containerdConfig, "--log-level", "warn"],
  });
  onStarted(process);
  await waitFor("containerd answers on its socket", async () => (ctr(["version"]), true), {
    timeoutMs: 30_000,
    intervalMs: 300,
    process,
    binaryName: "containerd",
  });
  return process;
}

/** Image names containerd already has in the CRI namespace. */
export function containerdImages(): Set<string> {
  return new Set(
    ctr(["images", "list", "--quiet"])
      .split("\n")
      .map((l) => l.trim())
      .filter(Boolean),
  );
}

/** Loads a docker-archive or OCI tar (e.g. from `podman save`) into the CRI namespace. */
export function importImages(archive: string): void {
  ctr(["images", "import", archive]);
}
