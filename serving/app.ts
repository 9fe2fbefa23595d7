// The HTTP API of the model server (express 5). Handlers are async; express 5
// forwards their rejections to the error handler at the end, which answers
// every failure as {error: {code, message}} (common/http/errors.ts) and
// never lets one escape.
import express, { type Request } from "express";
import type { ServerMetadata } from "../common/api/server-metadata.js";
import type { Logger } from "../common/log/logger.js";
import type { Admission } from "./admission.js";
import { adminApiState, adminGuard } from "./admin-api.js";
import { errorHandler } from "../common/http/errors.js";
import { ApiError } from "./api-error.js";
import type { ServerConfig } from "./config.js";
import type { InferencePool } from "./inference-pool.js";
import type { ServerMetrics } from "./metrics.js";
import { openApiDocument, PutStyleBodySchema } from "./openapi.js";
import { ModelUriSchema, StyleNameSchema } from "./style-map.js";
import { ModelLoadError, SupersededError, TooManyStylesError, type StyleRegistry } from "./style-registry.js";
import { createStylizeHandler } from "./stylize-route.js";

export interface AppDeps {
  config: ServerConfig;
  registry: StyleRegistry;
  pool: InferencePool;
  admission: Admission;
  /** Bytes of request bodies being received or held (read-upload.ts). */
  uploads: Admission;
  metrics: ServerMetrics;
  log: Logger;
  version: string;
  shuttingDown(): boolean;
}

const STYLIZE = /^(.*):stylize$/;

function styleName(raw: string | string[] | undefined): string {
  const parsed = StyleNameSchema.safeParse(raw);
  if (!parsed.success)
    throw new ApiError("invalid_request", `bad style name: ${parsed.error.issues[0]?.message}`);
  return parsed.data;
}

export function createApp(deps: AppDeps): express.Express {
  const { config, registry, metrics, log } = deps;
  const app = express();
  app.disable("x-powered-by");
  app.set("etag", false);
  app.set("query parser", "simple");

  // Access log and per-request metrics, after the response is out.
  app.use((req, res, next) => {
    const started = performance.now();
    // While shutting down, close each connection after its response so keep-alive clients move on.
    if (deps.shuttingDown()) res.set("Connection", "close");
    res.on("finish", () => {
      const code: unknown = res.locals.errorCode;
      if (typeof code === "string") metrics.errors.inc({ kind: code });
      const fields = {
        method: req.method,
        path: req.path,
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
        ...(typeof code === "string" ? { error: code } : {}),
      };
      if (res.statusCode >= 500) log.warn(fields, "request failed");
      else log.debug(fields, "request");
    });
    next();
  });

  app.get("/v2/health/live", (_req, res) => {
    res.json({ live: true });
  });
  app.get("/v2/health/ready", (_req, res) => {
    const { ready, waiting } = registry.readiness();
    // No healthy inference worker (all being replaced after engine failures): not ready.
    const healthyWorkers = deps.pool.healthy;
    const ok = ready && healthyWorkers > 0 && !deps.shuttingDown();
    res
      .status(ok ? 200 : 503)
      .json({ ready: ok, ...(deps.shuttingDown() ? { shuttingDown: true } : {}), waiting, healthyWorkers });
  });
  // Server metadata (Open Inference Protocol), with the engine this server chose: the operator reads it.
  app.get("/v2", (_req, res) => {
    const metadata: ServerMetadata = {
      name: "stylekube",
      version: deps.version,
      extensions: [],
      engine: deps.pool.engine ?? { engine: "unknown" },
    };
    res.json(metadata);
  });
  app.get("/metrics", async (_req, res) => {
    res.set("Content-Type", metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  const document = openApiDocument(deps.version);
  app.get("/openapi.json", (_req, res) => {
    res.json(document);
  });
  app.get("/", (_req, res) => {
    res.json({
      name: "stylekube model server",
      version: deps.version,
      engine: deps.pool.engine,
      openapi: "/openapi.json",
    });
  });

  app.get("/v1/styles", (_req, res) => {
    res.json({ engine: deps.pool.engine, styles: registry.list() });
  });

  // "/v1/styles/{name}:stylize" is one path segment ("mosaic:stylize") to the router.
  const stylize = createStylizeHandler(deps);
  app.post("/v1/styles/:target", async (req, res) => {
    const match = STYLIZE.exec(req.params.target);
    if (!match)
      throw new ApiError("not_found", `POST /v1/styles/{name}:stylize stylises; ${req.path} is not a route`);
    const style = match[1]!;
    const started = performance.now();
    res.on("finish", () => {
      // Only known style names become label values, so clients cannot grow the series without bound.
      const label = registry.has(style) ? style : "_unknown";
      const status = String(res.statusCode);
      metrics.requests.inc({ style: label, status });
      metrics.requestDuration.observe({ style: label, status }, (performance.now() - started) / 1000);
    });
    await stylize(req, res, style);
  });

  app.get("/v1/styles/:name", (req, res) => {
    const name = styleName(req.params.name);
    const status = registry.get(name);
    if (!status) throw new ApiError("style_not_found", `no style named "${name}"`);
    res.json(status);
  });

  const admin = adminGuard(adminApiState(config));
  const jsonBody = express.json({ limit: "16kb", strict: true });

  app.put("/v1/styles/:name", admin, jsonBody, async (req, res) => {
    const name = styleName(req.params.name);
    const body = PutStyleBodySchema.safeParse(req.body);
    if (!body.success) {
      throw new ApiError(
        "invalid_request",
        `body must be {"modelURI": "s3://…/model/"}: ${body.error.issues[0]?.message}`,
      );
    }
    const uri = ModelUriSchema.safeParse(body.data.modelURI);
    if (!uri.success) throw new ApiError("invalid_request", `modelURI: ${uri.error.issues[0]?.message}`);
    try {
      const { created, status } = await registry.put(name, uri.data);
      metrics.modelLoads.inc({ result: "success" });
      res.status(created ? 201 : 200).json(status);
    } catch (err) {
      metrics.modelLoads.inc({ result: "failure" });
      if (err instanceof ModelLoadError) throw new ApiError("model_load_failed", err.message);
      if (err instanceof TooManyStylesError) throw new ApiError("too_many_styles", err.message);
      if (err instanceof SupersededError) throw new ApiError("conflict", err.message);
      throw err;
    }
  });

  app.delete("/v1/styles/:name", admin, (req, res) => {
    const name = styleName(req.params.name);
    if (!registry.remove(name)) throw new ApiError("style_not_found", `no style named "${name}"`);
    res.status(204).end();
  });

  app.use((req: Request) => {
    throw new ApiError("not_found", `${req.method} ${req.path} is not a route; GET /openapi.json lists them`);
  });

  // ApiErrors, body-parser's errors of the JSON admin bodies, and anything unexpected (logged).
  app.use(errorHandler(log));
  return app;
}
