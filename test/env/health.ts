// Is a recorded environment still usable? Every recorded process alive (and
// still the same program), and every server answering its health endpoint.
// Fast enough (tens of ms) to run before every test run.
import { isOk } from "./http-probe.js";
import type { TestEnv } from "./env-file.js";
import { readKubeconfigEndpoint } from "./kubeconfig.js";
import { minioHealthy } from "./minio.js";
import { natsHealthy } from "./nats.js";
import { isRunning } from "./processes.js";

/** The servers env:up starts; each is recorded in TestEnv.pids under its binary's name. */
export const SERVER_NAMES = [
  "nats-server",
  "minio",
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kwok",
] as const;

/** The testcontainers provider's Docker API (`podman system service`), recorded under this name. */
export const PODMAN_SERVICE = "podman";

/** Names of the processes env.json must record for `provider`: with testcontainers, NATS and MinIO are containers. */
export function recordedProcessNames(provider: TestEnv["provider"]): readonly string[] {
  if (provider === "binaries") return SERVER_NAMES;
  return [PODMAN_SERVICE, ...SERVER_NAMES.filter((n) => n !== "nats-server" && n !== "minio")];
}

export type Health = { healthy: true } | { healthy: false; reason: string };

export async function checkHealth(env: TestEnv): Promise<Health> {
  for (const name of recordedProcessNames(env.provider)) {
    const pid = env.pids[name];
    if (pid === undefined) return { healthy: false, reason: `no pid recorded for ${name}` };
    if (!isRunning(pid, name)) return { healthy: false, reason: `${name} (pid ${pid}) is not running` };
  }
  const probes: [string, () => Promise<boolean>][] = [
    [
      "kube-apiserver /readyz",
      async () => {
        const { server, tls } = readKubeconfigEndpoint(env.kubeconfig);
        return isOk(`${server}/readyz`, tls);
      },
    ],
    ["minio /minio/health/ready", () => minioHealthy(env.s3.endpoint)],
  ];
  if (env.natsMonitorUrl) {
    const monitor = env.natsMonitorUrl;
    probes.push(["nats-server /healthz", () => natsHealthy(monitor)]);
  }
  const results = await Promise.all(
    probes.map(async ([what, probe]) => [what, await probe().catch(() => false)] as const),
  );
  const failed = results.filter(([, ok]) => !ok).map(([what]) => what);
  return failed.length === 0
    ? { healthy: true }
    : { healthy: false, reason: `unhealthy: ${failed.join(", ")}` };
}
