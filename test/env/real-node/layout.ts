// Where the opt-in real node (kubelet + containerd + CNI bridge) keeps its
// state, and the network it makes: everything under ENV_DIR/real-node, so
// env:down can find and remove all of it.
import { join } from "node:path";
import { ENV_DIR } from "../env-file.js";

const ROOT = join(ENV_DIR, "real-node");

export const REAL_NODE = {
  root: ROOT,
  /** What up recorded: pids, the host's state before, the node's endpoints. */
  stateFile: join(ROOT, "state.json"),
  containerdConfig: join(ROOT, "containerd.toml"),
  containerdRoot: join(ROOT, "containerd/root"),
  containerdState: join(ROOT, "containerd/state"),
  containerdSocket: join(ROOT, "containerd/containerd.sock"),
  cniConfDir: join(ROOT, "cni/net.d"),
  /** host-local IPAM leases (instead of /var/lib/cni/networks). */
  cniIpamDir: join(ROOT, "cni/ipam"),
  kubeletRoot: join(ROOT, "kubelet"),
  kubeletConfig: join(ROOT, "kubelet-config.yaml"),
  volumePluginDir: join(ROOT, "kubelet-plugins"),
  /** Pod-reachable NATS and MinIO (they listen on the bridge address). */
  serversDir: join(ROOT, "servers"),
} as const;

/** Debian's containernetworking-plugins (bridge, host-local, portmap, loopback). */
export const CNI_BIN_DIR = "/usr/lib/cni";

/** Fixed, so env:up can issue its client certificate (system:node:…) up front. */
export const NODE_NAME = "stylekube-node";
/** Labels the node carries, so tests and the e2e can select it. */
export const NODE_LABEL = "stylekube.io/real-node";

/**
 * The pod network: one bridge the environment creates, with the host at .1.
 * Apart from kwok's fake pod IPs (10.244.0.0/16), the service range
 * (10.96.0.0/16) and podman's default (10.88.0.0/16). Pods get no default
 * route: they reach the bridge's subnet and nothing else.
 */
export const POD_NETWORK = {
  bridge: "skube0",
  subnet: "10.201.0.0/24",
  hostAddress: "10.201.0.1",
  prefixLength: 24,
} as const;
