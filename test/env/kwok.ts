// kwok: fake Nodes that look Ready, and Pods bound to them that go Pending →
// Running → Ready (and away on deletion) without running any container. The
// Stages are kwokctl's defaults (test/env/kwok/stages.yaml).
import { resolve } from "node:path";
import type { V1Node } from "@kubernetes/client-node";
import { adminClient, componentKubeconfig } from "./kubernetes.js";
import { startDetached, waitFor, type Started } from "./processes.js";
import { freePorts, LOOPBACK } from "./ports.js";

const STAGES = resolve(import.meta.dirname, "kwok/stages.yaml");
export const KWOK_NODE_ANNOTATION = "kwok.x-k8s.io/node";
/** kwok's own pod network; kept apart from the service range (10.96.0.0/16). */
const POD_CIDR = "10.244.0.0/16";

export const FAKE_NODES = ["kwok-node-0"];

function fakeNode(name: string): V1Node {
  // ephemeral-storage too: every pod stylekube builds requests it, as real nodes report it.
  const resources = {
    cpu: "32",
    memory: "256Gi",
    "ephemeral-storage": "1Ti",
    pods: "110",
    "nvidia.com/gpu": "8",
  };
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: "fake", "node.alpha.kubernetes.io/ttl": "0" },
      labels: {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        type: "kwok",
      },
    },
    spec: {},
    status: { allocatable: resources, capacity: resources },
  };
}

export async function startKwok(binary: string, onStarted: (p: Started) => void): Promise<Started> {
  const [port] = (await freePorts(1)) as [number];
  const process = startDetached({
    name: "kwok",
    binary,
    args: [
      `--config=${STAGES}`,
      `--kubeconfig=${componentKubeconfig("kwok")}`,
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      "--node-lease-duration-seconds=40",
      `--cidr=${POD_CIDR}`,
      `--node-ip=${LOOPBACK}`,
      `--server-address=${LOOPBACK}:${port}`,
    ],
  });
  onStarted(process);

  const core = adminClient();
  for (const name of FAKE_NODES) await core.createNode({ body: fakeNode(name) });
  for (const name of FAKE_NODES) {
    await waitFor(`node ${name} Ready`, () => nodeReady(name), {
      timeoutMs: 60_000,
      intervalMs: 300,
      process,
      binaryName: "kwok",
    });
  }
  return process;
}

export async function nodeReady(name: string): Promise<boolean> {
  const node = await adminClient().readNode({ name });
  return node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}
