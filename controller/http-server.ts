// The operator's HTTP port: /healthz (the process is alive), /readyz (caches
// synced and, when electing, leading or standing by), /metrics.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { ControllerMetrics } from "./metrics.js";

export type RouteHandler = (req: IncomingMessage, res: ServerResponse) => boolean | Promise<boolean>;

export interface HealthSource {
  ready(): { ok: boolean; detail: string };
}

export function startHttpServer(
  host: string,
  port: number,
  metrics: ControllerMetrics,
  health: HealthSource,
  extraRoutes: RouteHandler[] = [],
): Promise<Server> {
  const server = createServer((req, res) => {
    void (async () => {
      const path = new URL(req.url ?? "/", "http://localhost").pathname;
      if (path === "/healthz" || path === "/livez") {
        res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      } else if (path === "/readyz") {
        const r = health.ready();
        res.writeHead(r.ok ? 200 : 503, { "content-type": "text/plain" }).end(`${r.detail}\n`);
      } else if (path === "/metrics") {
        res
          .writeHead(200, { "content-type": metrics.registry.contentType })
          .end(await metrics.registry.metrics());
      } else {
        for (const route of extraRoutes) if (await route(req, res)) return;
        res
          .writeHead(404, { "content-type": "application/json" })
          .end(JSON.stringify({ error: "not found" }));
      }
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: String(err) }));
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve(server));
  });
}
