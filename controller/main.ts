// `stylekube controller`: the operator process. Serves health and metrics at
// once, campaigns for the leader Lease, and only the leader watches and
// reconciles. SIGTERM/SIGINT stop it gracefully (finish the current reconcile,
// release the Lease so a standby takes over at once).
import { randomBytes } from "node:crypto";
import { homedir, hostname } from "node:os";
import { delimiter, join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { existsSync, readFileSync } from "node:fs";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import { createLogger } from "../common/log/logger.js";
import { readControllerConfig } from "./config.js";
import { readDashboardConfig } from "./dashboard/config.js";
import { Dashboard } from "./dashboard/dashboard.js";
import { RecentEvents, RememberingEventRecorder } from "./dashboard/recent-events.js";
import { createHttpApp, startHttpServer } from "./http-server.js";
import { LeaderElector } from "./kube/leader-election.js";
import { ControllerMetrics } from "./metrics.js";
import { ServerController } from "./serving/server-controller.js";
import { TrainingController } from "./training/training-controller.js";

export async function runController(): Promise<number> {
  const log = createLogger("controller");
  const config = readControllerConfig();
  const kc = new k8s.KubeConfig();
  const noKubeconfig =
    "cannot load a kubeconfig: set KUBECONFIG to a readable kubeconfig file, or run in a pod with a service account";
  // loadFromDefault quietly falls back to http://localhost:8080 when it finds
  // nothing; an operator talking to no cluster should say so and stop.
  const sources = [
    process.env.KUBECONFIG,
    join(homedir(), ".kube", "config"),
    "/var/run/secrets/kubernetes.io/serviceaccount/token",
  ].filter((f): f is string => f !== undefined && f !== "");
  if (!sources.some((f) => f.split(delimiter).some((p) => existsSync(p)))) {
    log.error({ looked: sources }, noKubeconfig);
    return 1;
  }
  try {
    // In a pod: the service account; elsewhere $KUBECONFIG or ~/.kube/config.
    kc.loadFromDefault();
  } catch (err) {
    log.error({ err, KUBECONFIG: process.env.KUBECONFIG }, noKubeconfig);
    return 1;
  }
  const metrics = new ControllerMetrics();
  const dashboardConfig = readDashboardConfig();
  // Remembers what it records, so the dashboard can show recent events without list rights on events.
  const recentEvents = new RecentEvents();
  const events = new RememberingEventRecorder(kc, "stylekube-controller", log, recentEvents);
  const identity = config.POD_NAME ?? `${hostname()}-${randomBytes(4).toString("hex")}`;

  let nc: NatsConnection | undefined;
  try {
    nc = await connect({
      servers: config.STYLEKUBE_NATS_URL,
      token: config.STYLEKUBE_NATS_TOKEN,
      user: config.STYLEKUBE_NATS_USER,
      pass: config.STYLEKUBE_NATS_PASSWORD,
      ...(config.STYLEKUBE_NATS_CREDS_FILE
        ? { authenticator: credsAuthenticator(readFileSync(config.STYLEKUBE_NATS_CREDS_FILE)) }
        : {}),
      name: `stylekube-controller-${identity}`,
      maxReconnectAttempts: -1,
    });
    log.info({ nats: config.STYLEKUBE_NATS_URL }, "connected to NATS");
  } catch (err) {
    // Status still tracks pods without NATS; only live progress is missing.
    log.error({ nats: config.STYLEKUBE_NATS_URL, err }, "NATS unreachable: progress will not be reported");
  }

  const trainings = new TrainingController(kc, config, events, metrics, log);
  const servers = new ServerController(kc, config, events, metrics, log);
  // Caches on every replica (the dashboard reads them); reconciling on the leader only.
  trainings.startCaches(nc);
  servers.startCaches();
  const startControllers = (leading: AbortSignal) =>
    Promise.all([trainings.startReconciling(leading), servers.startReconciling(leading)]);
  const elector = config.STYLEKUBE_LEADER_ELECT
    ? new LeaderElector({
        kc,
        namespace: config.POD_NAMESPACE,
        name: config.STYLEKUBE_LEASE_NAME,
        identity,
        leaseDurationSeconds: config.STYLEKUBE_LEASE_DURATION_SECONDS,
        renewDeadlineMs: config.STYLEKUBE_RENEW_DEADLINE_MS,
        retryPeriodMs: config.STYLEKUBE_RETRY_PERIOD_MS,
        log,
      })
    : undefined;

  const dashboard = dashboardConfig.STYLEKUBE_DASHBOARD
    ? new Dashboard({
        kc,
        config: dashboardConfig,
        trainings,
        servers,
        recentEvents,
        record: (target, type, reason, message) => events.record(target, type, reason, message),
        ready: () => trainings.synced() && servers.synced(),
        log: log.child({ part: "dashboard" }),
      })
    : undefined;

  const app = createHttpApp({
    metrics,
    health: {
      ready: () => {
        if (elector && !elector.isLeader)
          return { ok: true, detail: "standby: waiting for the leader lease" };
        return trainings.synced() && servers.synced()
          ? { ok: true, detail: "ok" }
          : { ok: false, detail: "caches not synced" };
      },
    },
    log,
    ...(dashboard ? { dashboard: dashboard.router } : {}),
  });
  const server = await startHttpServer(config.STYLEKUBE_HTTP_HOST, config.STYLEKUBE_HTTP_PORT, app);
  const address = server.address();
  log.info({ address, identity }, "controller listening");

  let stopping = false;
  const stop = new Promise<string>((resolve) => {
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, "shutting down");
      elector?.stop();
      resolve(signal);
    };
    process.once("SIGTERM", () => onSignal("SIGTERM"));
    process.once("SIGINT", () => onSignal("SIGINT"));
  });

  let exitCode = 0;
  if (elector) {
    const reason = await elector.run(async (lost) => {
      metrics.isLeader.set(1);
      await startControllers(lost);
    });
    metrics.isLeader.set(0);
    // Losing the lease (not a signal) must end the process: a restart is the
    // only way to be sure nothing acts on a stale view.
    if (!stopping) exitCode = 1;
    log.info({ reason }, "leader election ended");
  } else {
    metrics.isLeader.set(1);
    await startControllers(new AbortController().signal);
    await stop;
  }
  await Promise.all([trainings.stop(), servers.stop()]);
  await nc?.drain().catch(() => undefined);
  // Open event streams would keep server.close() waiting forever.
  dashboard?.close();
  await new Promise((r) => server.close(r));
  return exitCode;
}
