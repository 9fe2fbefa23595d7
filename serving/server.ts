// Assembles the model server: inference threads, the style registry, the
// HTTP API; and takes it down gracefully (stop accepting, let requests in
// flight finish, then stop the threads).
import { once } from "node:events";
import { createServer, type Server, type ServerOptions } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../common/log/logger.js";
import { Admission } from "./admission.js";
import { adminApiState } from "./admin-api.js";
import { createApp } from "./app.js";
import type { ServerConfig } from "./config.js";
import { InferencePool } from "./inference-pool.js";
import { ServerMetrics } from "./metrics.js";
import { StyleRegistry } from "./style-registry.js";
import type { StyleMap } from "./style-map.js";
import { readStylesFile, watchStylesFile } from "./styles-file.js";

export interface RunningServer {
  /** http://host:port the server listens on (the real port when 0 was asked for). */
  url: string;
  registry: StyleRegistry;
  /** Graceful stop; resolves when in-flight requests are done (or the shutdown timeout passed). */
  close(): Promise<void>;
}

/**
 * Node's own limits on receiving a request (any route): headers within
 * STYLEKUBE_HEADERS_TIMEOUT_MS, the whole request within that plus
 * STYLEKUBE_BODY_TIMEOUT_MS (after which Node answers 408 and closes). The
 * stylize route's own body deadline (read-upload.ts) starts after the
 * headers, so it answers first, in the API's JSON. Node checks these
 * deadlines every connectionsCheckingInterval (30 s by default): once a
 * second keeps a cut-off near its deadline.
 */
export function httpServerOptions(config: ServerConfig): ServerOptions {
  const body = config.STYLEKUBE_BODY_TIMEOUT_MS;
  return {
    headersTimeout: config.STYLEKUBE_HEADERS_TIMEOUT_MS,
    requestTimeout: body === 0 ? 0 : config.STYLEKUBE_HEADERS_TIMEOUT_MS + body,
    connectionsCheckingInterval: 1000,
  };
}

function logAdminApi(state: ReturnType<typeof adminApiState>, log: Logger): void {
  if (state.enabled)
    log.info("admin API on: PUT/DELETE /v1/styles/{name} need Authorization: Bearer <STYLEKUBE_ADMIN_TOKEN>");
  else log.info({ reason: state.reason }, `admin API off: ${state.reason}`);
}

export async function startServer(
  config: ServerConfig,
  log: Logger,
  version = "unknown",
): Promise<RunningServer> {
  // Read the styles file first: a missing or invalid one is a configuration error, reported before any work.
  const file = config.STYLEKUBE_STYLES_FILE ? await readStylesFile(config.STYLEKUBE_STYLES_FILE) : undefined;
  const declared = (fromFile: StyleMap | undefined): StyleMap => ({
    ...config.STYLEKUBE_STYLES,
    ...fromFile,
  });

  let onRestart: (reason: string) => void = () => {};
  const pool = await InferencePool.start({
    engine: config.STYLEKUBE_ENGINE,
    onnx: {
      providers: config.STYLEKUBE_ONNX_PROVIDERS,
      threads: config.STYLEKUBE_ONNX_THREADS,
      maxPixels: config.STYLEKUBE_ONNX_MAX_PIXELS,
    },
    threads: config.STYLEKUBE_CONCURRENCY,
    log,
    onRestart: (reason) => onRestart(reason),
  });
  log.info(
    { ...pool.engine, requested: config.STYLEKUBE_ENGINE, threads: config.STYLEKUBE_CONCURRENCY },
    pool.engine?.skipped?.length
      ? `inference engine ready: ${pool.engine.engine} (auto passed over ${pool.engine.skipped.join("; ")})`
      : "inference engine ready",
  );
  const registry = new StyleRegistry(pool, {
    log,
    retryMs: config.STYLEKUBE_MODEL_RETRY_MS,
    retryMaxMs: config.STYLEKUBE_MODEL_RETRY_MAX_MS,
    maxStyles: config.STYLEKUBE_MAX_STYLES,
  });
  registry.configure(declared(file?.styles));
  const stopWatching =
    file && config.STYLEKUBE_STYLES_FILE
      ? watchStylesFile(
          config.STYLEKUBE_STYLES_FILE,
          file.text,
          config.STYLEKUBE_STYLES_FILE_POLL_MS,
          log,
          (s) => registry.configure(declared(s)),
        )
      : () => {};

  const admission = new Admission(config.STYLEKUBE_CONCURRENCY + config.STYLEKUBE_QUEUE_SIZE);
  const uploads = new Admission(config.STYLEKUBE_MAX_INFLIGHT_BODY_BYTES);
  let shuttingDown = false;
  const metrics = new ServerMetrics({
    inflight: () => admission.admitted,
    uploadBytes: () => uploads.admitted,
    queued: () => pool.queued,
    stylesLoaded: () => registry.loadedCount(),
    ready: () => registry.readiness().ready && pool.healthy > 0 && !shuttingDown,
    healthyWorkers: () => pool.healthy,
  });
  onRestart = (reason) => metrics.inferenceRestarts.inc({ reason });
  metrics.engineInfo.set(
    {
      engine: pool.engine?.engine ?? "unknown",
      backend: pool.engine?.backend ?? "unknown",
      providers: pool.engine?.providers ?? "",
      provider: pool.engine?.provider ?? "",
    },
    1,
  );
  const app = createApp({
    config,
    registry,
    pool,
    admission,
    uploads,
    metrics,
    log,
    version,
    shuttingDown: () => shuttingDown,
  });

  // Requests open now (any route), for the drain at shutdown.
  let open = 0;
  let drained: (() => void) | undefined;
  const server: Server = createServer(httpServerOptions(config), (req, res) => {
    open++;
    res.on("close", () => {
      if (--open === 0) drained?.();
    });
    app(req, res);
  });
  server.listen(config.STYLEKUBE_HTTP_PORT, config.STYLEKUBE_HTTP_HOST);
  try {
    await once(server, "listening");
  } catch (err) {
    await pool.close();
    throw err;
  }
  const { port } = server.address() as AddressInfo;
  const host =
    config.STYLEKUBE_HTTP_HOST === "0.0.0.0" || config.STYLEKUBE_HTTP_HOST === "::"
      ? "127.0.0.1"
      : config.STYLEKUBE_HTTP_HOST;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log.info(
    { url, host: config.STYLEKUBE_HTTP_HOST, port, styles: Object.keys(declared(file?.styles)) },
    "model server listening",
  );
  logAdminApi(adminApiState(config), log);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      shuttingDown = true;
      log.info({ inflight: open }, "shutting down: no new connections, finishing requests in flight");
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (open > 0) {
        const timeout = new Promise<boolean>((resolve) =>
          setTimeout(() => resolve(false), config.STYLEKUBE_SHUTDOWN_TIMEOUT_MS).unref(),
        );
        const allDone = new Promise<boolean>((resolve) => (drained = () => resolve(true)));
        if (!(await Promise.race([allDone, timeout]))) {
          log.warn({ inflight: open }, "shutdown timeout: closing connections with requests still in flight");
        }
      }
      server.closeAllConnections();
      await stopped;
      stopWatching();
      registry.close();
      await pool.close();
      log.info("model server stopped");
    })());
  return { url, registry, close };
}
