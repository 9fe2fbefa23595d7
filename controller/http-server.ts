// The operator's HTTP port, on express like the model server: /healthz and
// /livez (the process is alive), /readyz (caches synced and, when electing,
// leading or standing by), /metrics, and the dashboard's routes when it is
// on. Every error is {error: {code, message}} (common/http/errors.ts).
import { createServer, type Server } from "node:http";
import express, { type Router } from "express";
import { errorHandler, HttpError } from "../common/http/errors.js";
import type { Logger } from "../common/log/logger.js";
import type { ControllerMetrics } from "./metrics.js";

export interface HealthSource {
  ready(): { ok: boolean; detail: string };
}

export interface HttpAppOptions {
  metrics: ControllerMetrics;
  health: HealthSource;
  log: Logger;
  /** The dashboard's routes (`/`, `/assets/…`, `/api/…`), absent when it is switched off. */
  dashboard?: Router;
}

export function createHttpApp(opts: HttpAppOptions): express.Express {
  const { metrics, health } = opts;
  const app = express();
  app.disable("x-powered-by");
  // Static assets carry their own ETags; API answers are no-store.
  app.set("etag", false);
  app.set("query parser", "simple");
  app.get(["/healthz", "/livez"], (_req, res) => {
    res.type("text/plain").send("ok\n");
  });
  app.get("/readyz", (_req, res) => {
    const r = health.ready();
    res
      .status(r.ok ? 200 : 503)
      .type("text/plain")
      .send(`${r.detail}\n`);
  });
  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  if (opts.dashboard) app.use(opts.dashboard);
  app.use((req) => {
    throw new HttpError(404, "not_found", `${req.method} ${req.path} is not a route`);
  });
  app.use(errorHandler(opts.log));
  return app;
}

export function startHttpServer(host: string, port: number, app: express.Express): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer(app);
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
