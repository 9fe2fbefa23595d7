// The opt-in real node: `npm run env:up -- --real-node` (or
// STYLEKUBE_REAL_NODE=1) adds a kubelet with containerd, runc and a CNI
// bridge to the running test environment; env:down takes it away and puts
// the host back as it was (host-state.ts), checking that it did.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "../../../common/log/logger.js";
import type { TestEnv } from "../env-file.js";
import { adminClient, componentKubeconfig } from "../kubernetes.js";
import { LAYOUT } from "../layout.js";
import { isRunning, stopGroup, waitFor, type Started } from "../processes.js";
import { BUILD_SCRIPT, pinnedVersion, TOOLS_DIR } from "../tools.js";
import { importImages, startContainerd } from "./containerd.js";
import { killOwnedCgroupProcesses, restoreHost, snapshotHost } from "./host-state.js";
import { podmanHasImage } from "../podman.js";
import { loadPodmanImages, pauseImageArchive } from "./images.js";
import { startKubelet } from "./kubelet.js";
import { NODE_NAME, REAL_NODE } from "./layout.js";
import { createBridge, writeCniConfig } from "./pod-network.js";
import { startPodServers } from "./pod-servers.js";
import { readRealNodeState, writeRealNodeState, type RealNodeState } from "./state-file.js";

export const PAUSE_SOURCE = join(import.meta.dirname, "pause/pause.go");

/** The pids' binaries, for recognising them (and not a reused pid) at stop. */
const BINARIES: Record<string, string> = {
  "real-node-kubelet": "kubelet",
  "real-node-containerd": "containerd",
  "real-node-nats-server": "nats-server",
  "real-node-minio": "minio",
};

/** The project's images, as `npm run images` tags them. */
export function projectImages(): string[] {
  const version = (
    JSON.parse(readFileSync(join(import.meta.dirname, "../../../package.json"), "utf8")) as {
      version: string;
    }
  ).version;
  const tag = process.env.STYLEKUBE_IMAGE_TAG ?? version;
  return ["controller", "server", "trainer"].map((n) => `docker.io/stylekube/${n}:${tag}`);
}

function apiserverOf(kubeconfig: string): string {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.getCurrentCluster()?.server ?? "";
}

function checkPrerequisites(env: TestEnv): void {
  if (process.getuid?.() !== 0)
    throw new Error("the real node needs root (it runs a kubelet and containerd)");
  const missing = ["containerd", "ctr", "runc", "ip", "nft", "podman"].filter(
    (b) => !process.env.PATH?.split(":").some((d) => existsSync(join(d, b))),
  );
  if (!existsSync("/usr/lib/cni/bridge")) missing.push("/usr/lib/cni/bridge");
  if (missing.length > 0)
    throw new Error(
      `the real node needs ${missing.join(", ")}: apt-get install containerd runc containernetworking-plugins nftables iproute2 podman (docs/real-node.md)`,
    );
  if (!existsSync(componentKubeconfig("kubelet")))
    throw new Error(
      `${componentKubeconfig("kubelet")} is missing: this environment predates the real node; run \`npm run env:down\` and bring it up again`,
    );
  const apiserverPid = env.pids["kube-apiserver"];
  const cmdline = apiserverPid ? readFileSync(`/proc/${apiserverPid}/cmdline`, "utf8") : "";
  if (!cmdline.includes("--kubelet-preferred-address-types"))
    throw new Error(
      "the running kube-apiserver cannot call a kubelet: run `npm run env:down` and bring it up again",
    );
}

function buildNodeTools(log: Logger): Promise<{ kubelet: string; pause: string; pauseTag: string }> {
  const pauseTag = createHash("sha256").update(readFileSync(PAUSE_SOURCE)).digest("hex").slice(0, 12);
  const kubelet = join(TOOLS_DIR, `kubelet-${pinnedVersion("K8S_VERSION")}`, "bin/kubelet");
  const pause = join(TOOLS_DIR, `pause-${pauseTag}`, "bin/pause");
  if (existsSync(kubelet) && existsSync(pause)) return Promise.resolve({ kubelet, pause, pauseTag });
  log.info("building the kubelet and pause (build-tools.sh kubelet pause)");
  return new Promise((res, rej) => {
    const child = spawn("bash", [BUILD_SCRIPT, "kubelet", "pause"], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    child.on("error", rej);
    child.on("exit", (code) =>
      code === 0
        ? res({ kubelet, pause, pauseTag })
        : rej(new Error(`build-tools.sh kubelet pause: exit ${code}`)),
    );
  });
}

async function nodeReady(kubeconfig: string): Promise<boolean> {
  const node = await adminClient(kubeconfig).readNode({ name: NODE_NAME });
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

async function healthy(state: RealNodeState, env: TestEnv): Promise<string | undefined> {
  if (!state.ready) return "an earlier start did not finish";
  if (state.apiserver !== apiserverOf(env.kubeconfig)) return "it joined another apiserver";
  for (const [name, pid] of Object.entries(state.pids))
    if (!isRunning(pid, BINARIES[name])) return `${name} (pid ${pid}) is not running`;
  try {
    if (!(await nodeReady(env.kubeconfig))) return `node ${NODE_NAME} is not Ready`;
  } catch (err) {
    return `node ${NODE_NAME}: ${(err as Error).message}`;
  }
  return undefined;
}

/** Brings the real node up, or confirms the running one; returns its state. */
export async function ensureRealNode(env: TestEnv, log: Logger): Promise<RealNodeState> {
  const current = readRealNodeState();
  if (current) {
    const problem = await healthy(current, env);
    if (!problem) {
      log.info({ node: NODE_NAME }, "real node already up and Ready");
      return current;
    }
    log.info({ reason: problem }, "real node is not healthy: taking it down first");
    await stopRealNode(log, env.kubeconfig);
  }
  checkPrerequisites(env);
  const started = Date.now();
  const tools = await buildNodeTools(log);

  mkdirSync(REAL_NODE.root, { recursive: true, mode: 0o700 });
  const state: RealNodeState = {
    apiserver: apiserverOf(env.kubeconfig),
    host: snapshotHost(),
    pids: {},
    ready: false,
    nodeName: NODE_NAME,
  };
  writeRealNodeState(state);
  const onStarted = (p: Started): void => {
    state.pids[p.name] = p.pid;
    writeRealNodeState(state);
    log.info({ process: p.name, pid: p.pid, log: p.log }, "started");
  };
  try {
    const pause = pauseImageArchive(tools.pause, tools.pauseTag);
    createBridge();
    writeCniConfig();
    await startContainerd(pause.name, onStarted);
    importImages(pause.archive);
    const present = projectImages().filter(podmanHasImage);
    if (present.length > 0) {
      log.info({ images: present }, "loading the project's images from podman");
      loadPodmanImages(present);
    }
    const pki = join(LAYOUT.pkiDir, "ca.crt");
    const kubelet = await startKubelet(tools.kubelet, pki, onStarted);
    state.kubeletPort = kubelet.ports.port;
    const servers = await startPodServers(
      {
        nats: join(env.binDir ?? LAYOUT.binDir, "nats-server"),
        minio: join(env.binDir ?? LAYOUT.binDir, "minio"),
      },
      onStarted,
    );
    Object.assign(state, servers);
    await waitFor(`node ${NODE_NAME} Ready`, () => nodeReady(env.kubeconfig), {
      timeoutMs: 120_000,
      intervalMs: 1000,
      process: kubelet.process,
    });
    state.ready = true;
    writeRealNodeState(state);
    log.info({ node: NODE_NAME, seconds: Math.round((Date.now() - started) / 1000) }, "real node Ready");
    return state;
  } catch (err) {
    log.error({ err }, "bringing the real node up failed; taking down what was started");
    await stopRealNode(log, env.kubeconfig);
    throw err;
  }
}

/** containerd's shims for our socket (they outlive containerd by design). */
function shimPids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.includes("containerd-shim") && argv.includes(REAL_NODE.containerdSocket))
        pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

/**
 * Stops the kubelet, the pods, containerd and the pod-reachable servers, and
 * restores the host; throws if anything the snapshot recorded still differs.
 */
export async function stopRealNode(log: Logger, kubeconfig = LAYOUT.kubeconfig): Promise<void> {
  const state = readRealNodeState();
  if (!state) return;
  const kubeletPid = state.pids["real-node-kubelet"];
  if (kubeletPid) await stopGroup(kubeletPid, "kubelet", 10_000);
  // The pods' processes, then the shims that watched them, then containerd.
  const killed = killOwnedCgroupProcesses();
  for (const pid of shimPids()) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // gone
    }
  }
  for (const [name, pid] of Object.entries(state.pids))
    if (name !== "real-node-kubelet") await stopGroup(pid, BINARIES[name], 10_000);
  log.info({ podProcesses: killed }, "real node processes stopped");

  try {
    await adminClient(kubeconfig).deleteNode({ name: state.nodeName });
  } catch {
    // the apiserver is gone or never had the node
  }

  const left = restoreHost(state.host, log);
  // Only with nothing mounted under it may the folder go; otherwise state.json
  // stays, so the next env:down tries again.
  const stillMounted = readFileSync("/proc/self/mountinfo", "utf8").includes(` ${REAL_NODE.root}`);
  if (left.length === 0 && !stillMounted) rmSync(REAL_NODE.root, { recursive: true, force: true });
  else {
    throw new Error(
      `the host is not as it was before the real node: ${[...left, ...(stillMounted ? [`mounts under ${REAL_NODE.root}`] : [])].join("; ")}`,
    );
  }
  log.info("real node down; host state restored (sysctls, nftables, cgroups, mounts, links, paths)");
}
