// Bringing a fresh environment up from locally built binaries: NATS, MinIO,
// the Kubernetes control plane and kwok, each a detached process; then
// env.json. Anything started is stopped again if a later step fails.
import { spawnSync } from "node:child_process";
import { mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import type { Logger } from "../../common/log/logger.js";
import { TestEnvSchema, type TestEnv } from "./env-file.js";
import { startControlPlane } from "./kubernetes.js";
import { startKwok } from "./kwok.js";
import { EPHEMERAL_DIRS, LAYOUT } from "./layout.js";
import { startMinio } from "./minio.js";
import { startNats } from "./nats.js";
import type { Started } from "./processes.js";
import { stopProcesses } from "./stop.js";
import { ensureTools, linkBinDir } from "./tools.js";

function dockerReachable(): boolean {
  const result = spawnSync("docker", ["info"], { stdio: "ignore", timeout: 10_000 });
  return result.status === 0;
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
  log.info(
    dockerReachable()
      ? "Docker engine reachable, but only the binaries provider is implemented: using locally built binaries"
      : "no Docker engine: using locally built binaries",
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
      startNats(tools.bin["nats-server"], onStarted),
      startMinio(tools.bin.minio, onStarted),
      startControlPlane(tools, onStarted),
    ]);
    const [nats, minio, controlPlane] = [valueOf(results[0]), valueOf(results[1]), valueOf(results[2])];
    await startKwok(tools.bin.kwok, onStarted);

    const env: TestEnv = {
      provider: "binaries",
      kubeconfig: controlPlane.kubeconfig,
      kubernetesVersion: tools.kubernetesVersion,
      natsUrl: nats.url,
      natsMonitorUrl: nats.monitorUrl,
      s3: minio.s3,
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
        nats: nats.url,
        s3: minio.s3.endpoint,
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
    rmSync(LAYOUT.startingPidsFile, { force: true });
    throw err;
  }
}
