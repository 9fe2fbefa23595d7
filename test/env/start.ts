// Bringing a fresh environment up from locally built binaries: NATS, MinIO,
// the Kubernetes control plane and kwok, each a detached process; then
// env.json. Anything started is stopped again if a later step fails.
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../common/log/logger.js";
import { ENV_DIR, selectedProvider, TestEnvSchema, type Provider, type TestEnv } from "./env-file.js";
import { startControlPlane } from "./kubernetes.js";
import { startKwok } from "./kwok.js";
import { EPHEMERAL_DIRS, LAYOUT } from "./layout.js";
import { startMinio } from "./minio.js";
import { startNats } from "./nats.js";
import type { Started } from "./processes.js";
import { stopProcesses } from "./stop.js";
import { ensureTools, linkBinDir, type Tools } from "./tools.js";

/** NATS and MinIO as env.json records them, however they were provided. */
type Messaging = Pick<TestEnv, "natsUrl" | "natsMonitorUrl" | "s3" | "dockerHost">;

async function startBinaryServers(tools: Tools, onStarted: (p: Started) => void): Promise<Messaging> {
  const [nats, minio] = await Promise.all([
    startNats(tools.bin["nats-server"], onStarted),
    startMinio(tools.bin.minio, onStarted),
  ]);
  return { natsUrl: nats.url, natsMonitorUrl: nats.monitorUrl, s3: minio.s3 };
}

/**
 * podman's Docker API on a socket under the environment, the servers' images
 * (built once from the same binaries), then NATS and MinIO through
 * testcontainers, labelled with the environment's directory for env:down.
 */
async function startContainerProvider(tools: Tools, onStarted: (p: Started) => void): Promise<Messaging> {
  const { PODMAN_SERVICE } = await import("./health.js");
  const { startPodmanService } = await import("./containers/podman-service.js");
  const { ensureServerImages } = await import("./containers/images.js");
  const { startContainerServers } = await import("./containers/servers.js");
  const service = await startPodmanService(PODMAN_SERVICE, join(LAYOUT.runDir, "podman.sock"));
  onStarted(service.process);
  const servers = await startContainerServers(service.dockerHost, ensureServerImages(tools), ENV_DIR);
  return {
    natsUrl: servers.natsUrl,
    natsMonitorUrl: servers.natsMonitorUrl,
    s3: servers.s3,
    dockerHost: service.dockerHost,
  };
}

function startMessaging(
  provider: Provider,
  tools: Tools,
  onStarted: (p: Started) => void,
): Promise<Messaging> {
  return provider === "testcontainers"
    ? startContainerProvider(tools, onStarted)
    : startBinaryServers(tools, onStarted);
}

function valueOf<T>(result: PromiseSettledResult<T>): T {
  if (result.status === "rejected") throw result.reason;
  return result.value;
}

function writeEnvFile(env: TestEnv): void {
  const tmp = `${LAYOUT.envFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(TestEnvSchema.parse(env), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, LAYOUT.envFile);
}

export async function startTestEnv(log: Logger): Promise<TestEnv> {
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 100) / 10;
  const provider = selectedProvider();
  log.info(
    { provider },
    provider === "testcontainers"
      ? "NATS and MinIO as containers through testcontainers and podman's Docker API; the control plane from local binaries"
      : "using locally built binaries",
  );
  const tools = await ensureTools(log);

  for (const dir of EPHEMERAL_DIRS) rmSync(dir, { recursive: true, force: true });
  for (const dir of EPHEMERAL_DIRS) mkdirSync(dir, { recursive: true });

  const pids: Record<string, number> = {};
  const onStarted = (p: Started): void => {
    pids[p.name] = p.pid;
    writeFileSync(LAYOUT.startingPidsFile, JSON.stringify(pids));
    log.info({ server: p.name, pid: p.pid, log: p.log, seconds: seconds() }, "started");
  };
  try {
    // NATS and MinIO come up while the control plane does. allSettled: on a
    // failure, nothing may still be starting when the cleanup runs.
    const results = await Promise.allSettled([
      startMessaging(provider, tools, onStarted),
      startControlPlane(tools, onStarted),
    ]);
    const [messaging, controlPlane] = [valueOf(results[0]), valueOf(results[1])];
    await startKwok(tools.bin.kwok, onStarted);

    const env: TestEnv = {
      provider,
      kubeconfig: controlPlane.kubeconfig,
      kubernetesVersion: tools.kubernetesVersion,
      ...messaging,
      binDir: linkBinDir(tools, LAYOUT.binDir),
      logsDir: LAYOUT.logsDir,
      pids,
    };
    writeEnvFile(env);
    rmSync(LAYOUT.startingPidsFile, { force: true });
    log.info(
      {
        provider: env.provider,
        envFile: LAYOUT.envFile,
        kubernetes: controlPlane.server,
        nats: messaging.natsUrl,
        s3: messaging.s3.endpoint,
        seconds: seconds(),
      },
      "test environment up",
    );
    return env;
  } catch (err) {
    log.error(
      { err, logs: LAYOUT.logsDir },
      "bringing the test environment up failed; stopping what was started",
    );
    await stopProcesses(pids, log);
    if (provider === "testcontainers") {
      const { removeOwnedContainers } = await import("./containers/owned.js");
      removeOwnedContainers(ENV_DIR);
    }
    rmSync(LAYOUT.startingPidsFile, { force: true });
    throw err;
  }
}
