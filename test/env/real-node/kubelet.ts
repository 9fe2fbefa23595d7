// The kubelet of the real node: registers as NODE_NAME with the client
// certificate env:up issued (system:node:…), talks CRI to the node's
// containerd, serves logs/exec/port-forward on the bridge address only, and
// lets the apiserver in by its client certificate (webhook authn/authz).
import { mkdirSync, writeFileSync } from "node:fs";
import { stringify } from "yaml";
import { componentKubeconfig } from "../kubernetes.js";
import { freePorts, LOOPBACK } from "../ports.js";
import { startDetached, type Started } from "../processes.js";
import { NODE_LABEL, NODE_NAME, POD_NETWORK, REAL_NODE } from "./layout.js";

export interface KubeletPorts {
  port: number;
  healthzPort: number;
}

function kubeletConfiguration(ports: KubeletPorts, caCert: string): Record<string, unknown> {
  return {
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    address: POD_NETWORK.hostAddress,
    port: ports.port,
    readOnlyPort: 0,
    healthzBindAddress: LOOPBACK,
    healthzPort: ports.healthzPort,
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true },
      x509: { clientCAFile: caCert },
    },
    authorization: { mode: "Webhook" },
    containerRuntimeEndpoint: `unix://${REAL_NODE.containerdSocket}`,
    // The hosts this is developed on have cgroup v1 (hybrid) and no systemd.
    cgroupDriver: "cgroupfs",
    failCgroupV1: false,
    failSwapOn: false,
    volumePluginDir: REAL_NODE.volumePluginDir,
    maxPods: 32,
    serializeImagePulls: false,
    // Images are loaded, never pulled: keep them whatever the disk says.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    // A shared development machine: evict only when nearly out.
    evictionHard: { "memory.available": "200Mi", "nodefs.available": "2%", "imagefs.available": "2%" },
    containerLogMaxSize: "10Mi",
    shutdownGracePeriod: "0s",
    shutdownGracePeriodCriticalPods: "0s",
    registerNode: true,
  };
}

export async function startKubelet(
  binary: string,
  caCert: string,
  onStarted: (p: Started) => void,
): Promise<{ process: Started; ports: KubeletPorts }> {
  const [port, healthzPort] = (await freePorts(2)) as [number, number];
  const ports = { port, healthzPort };
  for (const dir of [REAL_NODE.kubeletRoot, REAL_NODE.volumePluginDir]) mkdirSync(dir, { recursive: true });
  writeFileSync(REAL_NODE.kubeletConfig, stringify(kubeletConfiguration(ports, caCert)));
  const process = startDetached({
    name: "real-node-kubelet",
    binary,
    args: [
      `--config=${REAL_NODE.kubeletConfig}`,
      `--kubeconfig=${componentKubeconfig("kubelet")}`,
      `--root-dir=${REAL_NODE.kubeletRoot}`,
      `--hostname-override=${NODE_NAME}`,
      `--node-ip=${POD_NETWORK.hostAddress}`,
      `--node-labels=${NODE_LABEL}=true`,
      "--v=1",
    ],
  });
  onStarted(process);
  return { process, ports };
}
