// The Kubernetes control plane as local processes: etcd, kube-apiserver
// (TLS, client-certificate admin, Node+RBAC authorization, service-account
// token issuing), kube-controller-manager and kube-scheduler.
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { CoreV1Api, KubeConfig } from "@kubernetes/client-node";
import { httpGet, isOk, type ProbeTls } from "./http-probe.js";
import { writeKubeconfig } from "./kubeconfig.js";
import { LAYOUT } from "./layout.js";
import { createPki, type Pki } from "./pki.js";
import { freePorts, LOOPBACK } from "./ports.js";
import { startDetached, waitFor, type Started } from "./processes.js";
import type { Tools } from "./tools.js";
import { NODE_NAME as REAL_NODE_NAME } from "./real-node/layout.js";

const SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/16";
/** First address of the service range: the `kubernetes` Service. */
const KUBERNETES_SERVICE_IP = "10.96.0.1";
const SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local";

export interface ControlPlane {
  processes: Started[];
  server: string;
  /** Admin kubeconfig (system:masters). */
  kubeconfig: string;
  pki: Pki;
}

/** Client certificates issued for the control plane; the admin one goes into LAYOUT.kubeconfig. */
const CLIENTS = {
  admin: { user: "stylekube-admin", groups: ["system:masters"] },
  "kube-controller-manager": { user: "system:kube-controller-manager", groups: [] },
  "kube-scheduler": { user: "system:kube-scheduler", groups: [] },
  // kwok writes the status of every node and pod it fakes: cluster-admin.
  kwok: { user: "kwok", groups: ["system:masters"] },
  // The opt-in real node (real-node/): the kubelet's identity (Node
  // authorizer), and the apiserver's when it calls the kubelet (logs, exec).
  kubelet: { user: `system:node:${REAL_NODE_NAME}`, groups: ["system:nodes"] },
  "apiserver-kubelet-client": { user: "kube-apiserver-kubelet-client", groups: ["system:masters"] },
};
export type ControlPlaneClient = keyof typeof CLIENTS;

export function componentKubeconfig(name: ControlPlaneClient): string {
  return name === "admin" ? LAYOUT.kubeconfig : join(LAYOUT.pkiDir, `${name}.kubeconfig`);
}

export function adminTls(pki: Pki): ProbeTls {
  return {
    ca: readFileSync(pki.ca.cert),
    cert: readFileSync(pki.clients.admin!.cert),
    key: readFileSync(pki.clients.admin!.key),
  };
}

async function startEtcd(
  binary: string,
  onStarted: (p: Started) => void,
): Promise<{ process: Started; url: string }> {
  const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
  const url = `http://${LOOPBACK}:${clientPort}`;
  const peer = `http://${LOOPBACK}:${peerPort}`;
  const dataDir = join(LAYOUT.dataDir, "etcd");
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const process = startDetached({
    name: "etcd",
    binary,
    args: [
      "--name=stylekube-test",
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${url}`,
      `--advertise-client-urls=${url}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=stylekube-test=${peer}`,
      "--initial-cluster-state=new",
      // Throwaway data: skip fsync, keep the database small.
      "--unsafe-no-fsync",
      "--quota-backend-bytes=2147483648",
      "--log-level=warn",
    ],
  });
  onStarted(process);
  await waitFor(
    "etcd /health",
    async () => (await httpGet(`${url}/health`)).body.includes('"health":"true"'),
    {
      timeoutMs: 30_000,
      process,
      binaryName: "etcd",
    },
  );
  return { process, url };
}

async function startApiserver(
  binary: string,
  etcdUrl: string,
  pki: Pki,
  onStarted: (p: Started) => void,
): Promise<{ process: Started; server: string }> {
  const [port] = (await freePorts(1)) as [number];
  const server = `https://${LOOPBACK}:${port}`;
  const process = startDetached({
    name: "kube-apiserver",
    binary,
    args: [
      `--etcd-servers=${etcdUrl}`,
      `--bind-address=${LOOPBACK}`,
      `--advertise-address=${LOOPBACK}`,
      `--secure-port=${port}`,
      // The `kubernetes` Endpoints may not hold a loopback address: no reconciler.
      "--endpoint-reconciler-type=none",
      `--tls-cert-file=${pki.apiserver.cert}`,
      `--tls-private-key-file=${pki.apiserver.key}`,
      `--client-ca-file=${pki.ca.cert}`,
      "--authorization-mode=Node,RBAC",
      "--enable-admission-plugins=NodeRestriction",
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.serviceAccount.publicKey}`,
      `--service-account-signing-key-file=${pki.serviceAccount.privateKey}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      "--allow-privileged=true",
      // The real node (opt-in) is reached at its InternalIP; kwok's nodes are never called.
      "--kubelet-preferred-address-types=InternalIP,Hostname",
      `--kubelet-client-certificate=${pki.clients["apiserver-kubelet-client"]!.cert}`,
      `--kubelet-client-key=${pki.clients["apiserver-kubelet-client"]!.key}`,
      "--profiling=false",
      "--v=1",
    ],
  });
  onStarted(process);
  const tls = adminTls(pki);
  await waitFor("kube-apiserver /readyz", () => isOk(`${server}/readyz`, tls), {
    timeoutMs: 120_000,
    intervalMs: 500,
    process,
    binaryName: "kube-apiserver",
  });
  return { process, server };
}

async function startControllerManager(
  binary: string,
  pki: Pki,
  onStarted: (p: Started) => void,
): Promise<Started> {
  const [port] = (await freePorts(1)) as [number];
  const process = startDetached({
    name: "kube-controller-manager",
    binary,
    args: [
      `--kubeconfig=${componentKubeconfig("kube-controller-manager")}`,
      `--bind-address=${LOOPBACK}`,
      `--secure-port=${port}`,
      "--leader-elect=false",
      "--controllers=*",
      "--use-service-account-credentials=true",
      `--service-account-private-key-file=${pki.serviceAccount.privateKey}`,
      `--root-ca-file=${pki.ca.cert}`,
      // CertificateSigningRequests get signed by the test CA.
      `--cluster-signing-cert-file=${pki.ca.cert}`,
      `--cluster-signing-key-file=${pki.ca.key}`,
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      "--v=1",
    ],
  });
  onStarted(process);
  await waitFor(
    "kube-controller-manager /healthz",
    () => isOk(`https://${LOOPBACK}:${port}/healthz`, { insecure: true }),
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      process,
      binaryName: "kube-controller-manager",
    },
  );
  return process;
}

async function startScheduler(binary: string, onStarted: (p: Started) => void): Promise<Started> {
  const [port] = (await freePorts(1)) as [number];
  const process = startDetached({
    name: "kube-scheduler",
    binary,
    args: [
      `--kubeconfig=${componentKubeconfig("kube-scheduler")}`,
      `--bind-address=${LOOPBACK}`,
      `--secure-port=${port}`,
      "--leader-elect=false",
      "--v=1",
    ],
  });
  onStarted(process);
  await waitFor(
    "kube-scheduler /healthz",
    () => isOk(`https://${LOOPBACK}:${port}/healthz`, { insecure: true }),
    {
      timeoutMs: 60_000,
      intervalMs: 500,
      process,
      binaryName: "kube-scheduler",
    },
  );
  return process;
}

export function adminClient(kubeconfig = LAYOUT.kubeconfig): CoreV1Api {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  return kc.makeApiClient(CoreV1Api);
}

/**
 * Starts the control plane. `onStarted` sees each process as soon as it runs,
 * so a caller can stop what was started when a later step fails.
 */
export async function startControlPlane(
  tools: Tools,
  onStarted: (p: Started) => void,
): Promise<ControlPlane> {
  const pki = createPki(LAYOUT.pkiDir, {
    serverIps: [LOOPBACK, KUBERNETES_SERVICE_IP],
    serverDnsNames: [
      "localhost",
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
    ],
    clients: CLIENTS,
  });
  const processes: Started[] = [];
  const track = (p: Started): void => {
    processes.push(p);
    onStarted(p);
  };

  const etcd = await startEtcd(tools.bin.etcd, track);
  const apiserver = await startApiserver(tools.bin["kube-apiserver"], etcd.url, pki, track);
  for (const name of Object.keys(CLIENTS) as ControlPlaneClient[]) {
    writeKubeconfig(componentKubeconfig(name), {
      server: apiserver.server,
      caCert: pki.ca.cert,
      client: pki.clients[name]!,
      user: CLIENTS[name].user,
    });
  }
  await startControllerManager(tools.bin["kube-controller-manager"], pki, track);
  await startScheduler(tools.bin["kube-scheduler"], track);

  // The service-account controller's first act: proof that the controller
  // manager talks to the apiserver and that pods can be admitted.
  const core = adminClient();
  await waitFor(
    "ServiceAccount default/default",
    async () => {
      await core.readNamespacedServiceAccount({ name: "default", namespace: "default" });
      return true;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  return { processes, server: apiserver.server, kubeconfig: LAYOUT.kubeconfig, pki };
}
