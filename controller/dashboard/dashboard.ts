// The dashboard: a page at `/` on the operator's HTTP port plus the JSON and
// event-stream API behind it. It reads the operator's own informer caches and
// progress stream (nothing extra is watched), remembers loss history and
// previews in memory, proxies preview images from storage and "try it"
// photos to the StyleServer, and performs the few actions a user needs —
// each authorised, audited in the log and recorded as a Kubernetes event.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import * as k8s from "@kubernetes/client-node";
import express, { type Request, type RequestHandler, type Response, type Router } from "express";
import { z } from "zod";
import { API_VERSION, GROUP, StyleTrainingSpecSchema, VERSION } from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import type { ProgressMessage } from "../../common/progress.js";
import { isNotFound, openStore, type ObjectStore } from "../../common/storage/index.js";
import {
  listPreviews,
  PREVIEW_PHOTO_NAME,
  previewOriginalUri,
  previewUri,
} from "../../common/storage/training-layout.js";
import type { ServerController } from "../serving/server-controller.js";
import { isWorkerOf } from "../training/ownership.js";
import type { TrainingController } from "../training/training-controller.js";
import { bodyReadError } from "../../common/http/errors.js";
import { Authorizer, sameOrigin, type ActionAttributes } from "./auth.js";
import type { DashboardConfig } from "./config.js";
import { DashboardError } from "./errors.js";
import { LossHistory, PreviewIndex, type LossPoint } from "./history.js";
import type { RecentEvents } from "./recent-events.js";
import { SseHub } from "./sse.js";
import { StaticAssets } from "./static-assets.js";
import { serverView, trainingKey, trainingView, type ServerView, type TrainingView } from "./views.js";
import { LABELS } from "../../common/api/owned-objects.js";

export interface DashboardOptions {
  kc: k8s.KubeConfig;
  config: DashboardConfig;
  trainings: TrainingController;
  servers: ServerController;
  recentEvents: RecentEvents;
  /** Records the audit event of each action on its object. */
  record: (target: EventObject, type: "Normal" | "Warning", reason: string, message: string) => Promise<void>;
  /** False on a standby replica: its caches are not running, so it has nothing to show. */
  /** Whether the operator's caches have synced (every replica keeps them, leader or not). */
  ready: () => boolean;
  log: Logger;
  store?: ObjectStore;
  assets?: StaticAssets;
}

interface EventObject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

/** Live updates are batched this often: smooth to watch, cheap with fast jobs. */
const FLUSH_MS = 250;

// Object names are DNS subdomains; anything else in a path is refused before use.
const NameSchema = z
  .string()
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/);
const NamespaceSchema = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
const StyleNameSchema = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
const ObjectParamsSchema = z.object({ namespace: NamespaceSchema, name: NameSchema });
const StepSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const ScaleBodySchema = z.object({ replicas: z.int().min(0).max(1000) }).strict();
const SuspendBodySchema = z.object({ suspend: z.boolean() }).strict();

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; connect-src 'self'; " +
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** Authorizer refusals by status. */
const REFUSAL_CODES = { 401: "unauthorized", 403: "forbidden", 503: "unavailable" } as const;

export class Dashboard {
  /** `/`, `/assets/…` and `/api/…`, to mount on the operator's express app. */
  readonly router: Router;
  private readonly hub = new SseHub();
  private readonly history: LossHistory;
  private readonly previews: PreviewIndex;
  private readonly auth: Authorizer;
  private readonly assets: StaticAssets;
  private readonly custom: k8s.CustomObjectsApi;
  private store: ObjectStore | undefined;
  private readonly backfilled = new Set<string>();
  private readonly dirtyTrainings = new Set<string>();
  private readonly dirtyServers = new Set<string>();
  private readonly dirtyPoints = new Map<string, Map<number, LossPoint>>();
  private readonly flushTimer: NodeJS.Timeout;
  /** "Try it" photos, up to STYLEKUBE_DASHBOARD_MAX_UPLOAD_BYTES. */
  private readonly rawBody: RequestHandler;

  constructor(private readonly opts: DashboardOptions) {
    const { config, trainings, servers, recentEvents } = opts;
    this.history = new LossHistory(config.STYLEKUBE_DASHBOARD_HISTORY_POINTS);
    this.previews = new PreviewIndex(config.STYLEKUBE_DASHBOARD_PREVIEWS);
    this.auth = new Authorizer({
      token: config.STYLEKUBE_DASHBOARD_TOKEN,
      tokenReview: config.STYLEKUBE_DASHBOARD_TOKEN_REVIEW,
      audiences: config.STYLEKUBE_DASHBOARD_TOKEN_AUDIENCES,
      kc: opts.kc,
      log: opts.log,
    });
    this.assets = opts.assets ?? new StaticAssets();
    this.store = opts.store;
    this.custom = opts.kc.makeApiClient(k8s.CustomObjectsApi);
    this.rawBody = express.raw({ type: () => true, limit: config.STYLEKUBE_DASHBOARD_MAX_UPLOAD_BYTES });
    this.router = this.routes();

    trainings.trainings.on((event, obj) => {
      const key = trainingKey(obj);
      if (event === "deleted") {
        this.history.forget(key);
        this.previews.forget(key);
        this.backfilled.delete(key);
        recentEvents.forget("StyleTraining", key);
      }
      this.dirtyTrainings.add(key);
    });
    trainings.pods.on((_event, pod) => {
      const owner = pod.metadata?.labels?.[LABELS.training];
      if (owner) this.dirtyTrainings.add(`${pod.metadata?.namespace}/${owner}`);
    });
    servers.servers.on((event, obj) => {
      const key = trainingKey(obj);
      if (event === "deleted") recentEvents.forget("StyleServer", key);
      this.dirtyServers.add(key);
    });
    trainings.progress.onMessage((key, msg) => this.onProgress(key, msg));
    recentEvents.onChange((key, kind) =>
      (kind === "StyleServer" ? this.dirtyServers : this.dirtyTrainings).add(key),
    );
    this.flushTimer = setInterval(() => this.flush(), FLUSH_MS);
    this.flushTimer.unref();
    const size = this.assets.sizes();
    opts.log.info(
      { assetsBytes: size.raw, assetsGzipBytes: size.gzip, auth: this.auth.methods },
      this.auth.actionsEnabled
        ? "dashboard at /"
        : "dashboard at / (read-only: set STYLEKUBE_DASHBOARD_TOKEN or STYLEKUBE_DASHBOARD_TOKEN_REVIEW to allow actions)",
    );
  }

  close(): void {
    clearInterval(this.flushTimer);
    this.hub.close();
    void this.store?.close();
  }

  // ---- routing -------------------------------------------------------------

  private routes(): Router {
    const router = express.Router({ strict: true });
    const page = ["/", "/assets/:file"];
    // On every answer of the page and its API, errors included.
    router.use((_req, res, next) => {
      res.set(SECURITY_HEADERS);
      next();
    });
    router.get(page, (req, res) => {
      const file = typeof req.params.file === "string" ? req.params.file : "index.html";
      if (!/^[a-z0-9-]+\.[a-z]+$/.test(file) || !this.assets.serve(req, res, file, {}))
        throw new DashboardError("not_found", `no asset ${file}`);
    });
    router.all(page, () => {
      throw new DashboardError("method_not_allowed", "the page is read with GET", { allow: "GET, HEAD" });
    });

    router.use("/api", (req, _res, next) => {
      if (!this.opts.ready())
        throw new DashboardError("unavailable", "the operator is still loading its caches", {
          "retry-after": "2",
        });
      // Anything that changes state must come from this page's own origin.
      const read = req.method === "GET" || req.method === "HEAD";
      if (!read && !sameOrigin(req, this.opts.config.STYLEKUBE_DASHBOARD_ALLOWED_ORIGINS)) {
        this.opts.log.warn(
          { path: req.path, origin: req.headers.origin, method: req.method },
          "dashboard refused a cross-origin request",
        );
        throw new DashboardError("forbidden", "cross-origin request refused");
      }
      next();
    });
    router.get("/api/state", (_req, res) => this.json(res, 200, this.snapshot()));
    router.get("/api/stream", (req, res) => {
      this.hub.open(req, res, { event: "snapshot", data: this.snapshot() });
    });
    router.get("/api/trainings/:namespace/:name", (req, res) => this.trainingDetail(res, objectKey(req)));
    router.get("/api/trainings/:namespace/:name/previews/:step/:photo", (req, res) =>
      this.preview(res, objectKey(req), req.params.step, req.params.photo),
    );
    router.post("/api/trainings/:namespace/:name/suspend", (req, res) =>
      this.suspend(req, res, objectParams(req)),
    );
    router.delete("/api/trainings/:namespace/:name", (req, res) =>
      this.deleteTraining(req, res, objectParams(req)),
    );
    router.post("/api/servers/:namespace/:name/scale", (req, res) => this.scale(req, res, objectParams(req)));
    router.post("/api/servers/:namespace/:name/styles/:style/stylize", (req, res) =>
      this.stylize(req, res, objectParams(req), req.params.style),
    );
    router.use("/api", (req) => {
      throw new DashboardError(
        "not_found",
        `${req.method} ${req.originalUrl.split("?")[0]} is not a dashboard API`,
      );
    });
    return router;
  }

  // ---- reading -------------------------------------------------------------

  private snapshot(): {
    trainings: TrainingView[];
    servers: ServerView[];
    actions: { enabled: boolean; methods: string[] };
  } {
    const byKey = (a: { key: string }, b: { key: string }) => a.key.localeCompare(b.key);
    return {
      trainings: this.opts.trainings.trainings
        .list()
        .map((t) => this.trainingView(trainingKey(t))!)
        .sort(byKey),
      servers: this.opts.servers.servers
        .list()
        .map((s) => this.serverView(trainingKey(s))!)
        .sort(byKey),
      actions: { enabled: this.auth.actionsEnabled, methods: this.auth.methods },
    };
  }

  private trainingView(key: string): TrainingView | undefined {
    const training = this.opts.trainings.trainings.get(key);
    if (!training) return undefined;
    const pods = this.opts.trainings.pods.list().filter((p) => isWorkerOf(p, training));
    const spec = StyleTrainingSpecSchema.safeParse(training.spec);
    const attempt = training.status?.attempt ?? 0;
    const live =
      spec.success && attempt > 0
        ? this.opts.trainings.progress.summary(
            key,
            attempt,
            spec.data.hyperparameters.batchSize * spec.data.workers,
          )?.progress
        : undefined;
    return trainingView({
      training,
      pods,
      liveProgress: live,
      events: this.opts.recentEvents.list("StyleTraining", key),
      previews: this.previews.list(key),
    });
  }

  private serverView(key: string): ServerView | undefined {
    const server = this.opts.servers.servers.get(key);
    return server ? serverView(server, this.opts.recentEvents.list("StyleServer", key)) : undefined;
  }

  private trainingDetail(res: Response, key: string): void {
    const view = this.trainingView(key);
    if (!view) throw new DashboardError("not_found", `StyleTraining ${key} not found`);
    void this.backfillPreviews(key, view.output);
    this.json(res, 200, { training: view, history: this.history.points(key) });
  }

  /**
   * After an operator restart the in-memory preview list is empty, but the
   * images are still in storage: list the previews prefix once per training.
   */
  private async backfillPreviews(key: string, output: string | null): Promise<void> {
    if (!output || this.backfilled.has(key)) return;
    this.backfilled.add(key);
    try {
      let added = false;
      for (const { step, photos } of await listPreviews(this.storage(), output))
        if (this.previews.add(key, step, photos)) added = true;
      if (added) this.dirtyTrainings.add(key);
    } catch (err) {
      this.opts.log.debug({ key, err }, "could not list previews");
    }
  }

  /**
   * `previews/{step}/{photo}`: a held-out photo stylised at a checkpoint;
   * `previews/photos/{photo}`: the photo itself. Only photos a progress
   * message (or the listing after a restart) announced, at paths the
   * training layout derives from the training's own spec.output, so a forged
   * message cannot make the operator read anything else.
   */
  private async preview(
    res: Response,
    key: string,
    stepText: string | undefined,
    photoText: string | undefined,
  ): Promise<void> {
    const photo = z.string().regex(PREVIEW_PHOTO_NAME).safeParse(photoText);
    if (!photo.success) throw new DashboardError("invalid_request", "invalid photo name");
    const original = stepText === "photos";
    const step = original ? undefined : StepSchema.safeParse(stepText);
    if (step && !step.success) throw new DashboardError("invalid_request", "invalid step");
    const training = this.opts.trainings.trainings.get(key);
    if (!training) throw new DashboardError("not_found", `StyleTraining ${key} not found`);
    if (!this.previews.has(key, photo.data, step?.data))
      throw new DashboardError(
        "not_found",
        step ? `no preview of ${photo.data} at step ${step.data}` : `no photo ${photo.data}`,
      );
    const spec = StyleTrainingSpecSchema.safeParse(training.spec);
    if (!spec.success) throw new DashboardError("not_found", "the training's spec is invalid");
    const uri = step
      ? previewUri(spec.data.output, step.data, photo.data)
      : previewOriginalUri(spec.data.output, photo.data);
    if (!withinPrefix(uri, spec.data.output))
      throw new DashboardError("forbidden", "preview is outside the training's output");
    const type = "image/jpeg";
    let body: Readable;
    try {
      body = await this.storage().get(uri);
    } catch (err) {
      if (isNotFound(err)) throw new DashboardError("not_found", "preview no longer in storage");
      this.opts.log.warn({ key, err }, "could not read preview");
      throw new DashboardError("upstream_failed", "could not read the preview from storage");
    }
    res.writeHead(200, {
      ...SECURITY_HEADERS,
      "content-type": type,
      // A preview of a step never changes.
      "cache-control": "private, max-age=86400, immutable",
    });
    await pipeline(body, res).catch(() => undefined);
  }

  private storage(): ObjectStore {
    return (this.store ??= openStore());
  }

  // ---- actions -------------------------------------------------------------

  private async scale(req: Request, res: Response, { namespace, name }: ObjectParams): Promise<void> {
    const key = `${namespace}/${name}`;
    const server = this.opts.servers.servers.get(key);
    const attrs: ActionAttributes = {
      verb: "patch",
      resource: "styleservers",
      subresource: "scale",
      namespace,
      name,
    };
    const user = await this.authorize(req, "scale", attrs);
    const body = ScaleBodySchema.safeParse(await readJson(req, res));
    if (!body.success)
      throw new DashboardError("invalid_request", `invalid body: ${z.prettifyError(body.error)}`);
    if (!server) throw new DashboardError("not_found", `StyleServer ${key} not found`);
    const view = serverView(server, []);
    if (view.autoscaling)
      throw new DashboardError(
        "conflict",
        "replicas are owned by the autoscaler; change spec.autoscaling instead",
      );
    const from = view.replicas;
    await this.patch("styleservers", namespace, name, { spec: { replicas: body.data.replicas } });
    const message = `Scaled from ${from} to ${body.data.replicas} replicas by ${user} via the dashboard`;
    await this.audit(
      { ...server, apiVersion: API_VERSION, kind: "StyleServer" },
      "DashboardScaled",
      message,
      user,
    );
    this.json(res, 200, { replicas: body.data.replicas });
  }

  private async suspend(req: Request, res: Response, { namespace, name }: ObjectParams): Promise<void> {
    const key = `${namespace}/${name}`;
    const attrs: ActionAttributes = { verb: "patch", resource: "styletrainings", namespace, name };
    const user = await this.authorize(req, "suspend", attrs);
    const body = SuspendBodySchema.safeParse(await readJson(req, res));
    if (!body.success)
      throw new DashboardError("invalid_request", `invalid body: ${z.prettifyError(body.error)}`);
    const training = this.opts.trainings.trainings.get(key);
    if (!training) throw new DashboardError("not_found", `StyleTraining ${key} not found`);
    await this.patch("styletrainings", namespace, name, { spec: { suspend: body.data.suspend } });
    const verb = body.data.suspend ? "Suspended" : "Resumed";
    await this.audit(
      { ...training, apiVersion: API_VERSION, kind: "StyleTraining" },
      `Dashboard${verb}`,
      `${verb} by ${user} via the dashboard`,
      user,
    );
    this.json(res, 200, { suspend: body.data.suspend });
  }

  private async deleteTraining(
    req: Request,
    res: Response,
    { namespace, name }: ObjectParams,
  ): Promise<void> {
    const key = `${namespace}/${name}`;
    const attrs: ActionAttributes = { verb: "delete", resource: "styletrainings", namespace, name };
    const user = await this.authorize(req, "delete", attrs);
    const training = this.opts.trainings.trainings.get(key);
    if (!training) throw new DashboardError("not_found", `StyleTraining ${key} not found`);
    // Recorded first: once deleted there is no object to hang it on.
    await this.audit(
      { ...training, apiVersion: API_VERSION, kind: "StyleTraining" },
      "DashboardDeleted",
      `Deleted by ${user} via the dashboard`,
      user,
    );
    try {
      await this.custom.deleteNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: "styletrainings",
        namespace,
        name,
        propagationPolicy: "Background",
      });
    } catch (err) {
      throw this.kubeError(err);
    }
    this.json(res, 202, { deleted: key });
  }

  /** Authorise or throw the refusal; refusals are logged (never as events: anyone can cause them). */
  private async authorize(req: Request, action: string, attrs: ActionAttributes): Promise<string> {
    const result = await this.auth.authorize(req, attrs);
    const object = `${attrs.resource}/${attrs.namespace}/${attrs.name}`;
    if (result.ok) return result.user;
    this.opts.log.warn(
      {
        audit: true,
        action,
        object,
        status: result.status,
        user: result.user,
        remote: req.socket.remoteAddress,
      },
      `dashboard action refused: ${result.error}`,
    );
    throw new DashboardError(
      REFUSAL_CODES[result.status],
      result.error,
      result.status === 401 ? { "www-authenticate": 'Bearer realm="stylekube"' } : {},
    );
  }

  private async audit(target: EventObject, reason: string, message: string, user: string): Promise<void> {
    const m = target.metadata;
    this.opts.log.info(
      { audit: true, reason, object: `${target.kind}/${m.namespace}/${m.name}`, user },
      message,
    );
    await this.opts.record(target, "Normal", reason, message);
  }

  private async patch(plural: string, namespace: string, name: string, body: object): Promise<void> {
    try {
      await this.custom.patchNamespacedCustomObject(
        { group: GROUP, version: VERSION, plural, namespace, name, body },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    } catch (err) {
      throw this.kubeError(err);
    }
  }

  private kubeError(err: unknown): DashboardError {
    if (err instanceof k8s.ApiException) {
      const code = err.code;
      this.opts.log.warn(
        { code, err, body: String(err.body).slice(0, 500) },
        "dashboard action failed in the API server",
      );
      if (code === 404) return new DashboardError("not_found", "not found in the API server");
      if (code === 403)
        return new DashboardError("upstream_failed", "the operator is not allowed to do this (RBAC)");
      if (code === 409) return new DashboardError("conflict", "the API server rejected the change");
      if (code === 422) return new DashboardError("rejected", "the API server rejected the change");
    }
    this.opts.log.warn({ err }, "dashboard action failed");
    return new DashboardError("upstream_failed", "the API server request failed");
  }

  // ---- try it --------------------------------------------------------------

  private async stylize(
    req: Request,
    res: Response,
    { namespace, name }: ObjectParams,
    style: string | undefined,
  ): Promise<void> {
    const s = StyleNameSchema.safeParse(style);
    if (!s.success) throw new DashboardError("invalid_request", "invalid style name");
    const type = String(req.headers["content-type"] ?? "");
    if (!/^image\/(jpeg|png|webp)$/.test(type))
      throw new DashboardError("unsupported_media_type", "send a JPEG, PNG or WebP image");
    const server = this.serverView(`${namespace}/${name}`);
    if (!server) throw new DashboardError("not_found", `StyleServer ${namespace}/${name} not found`);
    if (!server.styles.includes(s.data))
      throw new DashboardError("not_found", `${name} does not serve style ${s.data}`);
    const photo = ((await parseBody(this.rawBody, req, res)) as Buffer | undefined) ?? Buffer.alloc(0);
    const base = this.opts.config.STYLEKUBE_DASHBOARD_SERVING_URL.replaceAll("{name}", name).replaceAll(
      "{namespace}",
      namespace,
    );
    const target = `${base.replace(/\/+$/, "")}/v1/styles/${s.data}:stylize`;
    let upstream: globalThis.Response;
    try {
      upstream = await fetch(target, {
        method: "POST",
        headers: { "content-type": type, accept: "image/*" },
        body: photo,
        signal: AbortSignal.timeout(120_000),
      });
    } catch (err) {
      this.opts.log.warn({ target, err }, "try-it: server unreachable");
      throw new DashboardError("upstream_failed", `the style server is unreachable (${target})`);
    }
    const upstreamType = upstream.headers.get("content-type") ?? "";
    if (!upstream.ok || !/^image\//.test(upstreamType)) {
      const text = (await upstream.text().catch(() => "")).slice(0, 500);
      throw new DashboardError("upstream_failed", `the style server answered ${upstream.status}: ${text}`);
    }
    res.writeHead(200, { "content-type": upstreamType, "cache-control": "no-store" });
    if (upstream.body) await pipeline(Readable.fromWeb(upstream.body as WebReadableStream), res);
    else res.end();
  }

  // ---- live updates --------------------------------------------------------

  private onProgress(key: string, msg: ProgressMessage): void {
    const point = this.history.add(key, msg);
    if (point) {
      let m = this.dirtyPoints.get(key);
      if (!m) this.dirtyPoints.set(key, (m = new Map()));
      m.set(point.step, point);
    }
    if (msg.preview) this.previews.add(key, msg.preview.step, msg.preview.photos);
    this.dirtyTrainings.add(key);
  }

  private flush(): void {
    const trainings = [...this.dirtyTrainings];
    const servers = [...this.dirtyServers];
    const points = [...this.dirtyPoints];
    this.dirtyTrainings.clear();
    this.dirtyServers.clear();
    this.dirtyPoints.clear();
    if (this.hub.size === 0 || !this.opts.ready()) return;
    for (const [key, m] of points)
      this.hub.send("progress", { key, points: [...m.values()].sort((a, b) => a.step - b.step) });
    for (const key of trainings) {
      const view = this.trainingView(key);
      this.hub.send(view ? "training" : "training-deleted", view ?? { key });
    }
    for (const key of servers) {
      const view = this.serverView(key);
      this.hub.send(view ? "server" : "server-deleted", view ?? { key });
    }
  }

  private json(res: Response, status: number, body: unknown): void {
    res.status(status).set("cache-control", "no-store").json(body);
  }
}

/** True when `uri` names an object under `prefix`, with no `.`/`..` segment that could climb out (file://). */
export function withinPrefix(uri: string, prefix: string): boolean {
  const base = prefix.endsWith("/") ? prefix : `${prefix}/`;
  if (!uri.startsWith(base)) return false;
  const rest = uri.slice(base.length);
  return (
    rest !== "" &&
    !rest.split("/").some((seg) => seg === "." || seg === ".." || seg === "") &&
    !rest.includes("\\")
  );
}

/** Runs a body-parser middleware on the request and returns what it read (undefined: no body). */
function parseBody(parser: RequestHandler, req: Request, res: Response): Promise<unknown> {
  return new Promise((resolve, reject) =>
    parser(req, res, (err?: unknown) => (err ? reject(bodyReadError(err)) : resolve(req.body))),
  );
}

/** Action bodies are a few bytes of JSON. */
const jsonBody = express.json({ limit: "16kb", type: () => true });

/** Read after the action is authorised, so no unauthenticated body is parsed. */
async function readJson(req: Request, res: Response): Promise<unknown> {
  // A JSON content type cannot be sent cross-site without a CORS preflight,
  // which this server never grants.
  if (!req.is("application/json"))
    throw new DashboardError("unsupported_media_type", "send application/json");
  return parseBody(jsonBody, req, res);
}

interface ObjectParams {
  namespace: string;
  name: string;
}

/** The object a route names; anything that is not a Kubernetes namespace and name is refused before use. */
function objectParams(req: Request): ObjectParams {
  const p = ObjectParamsSchema.safeParse(req.params);
  if (!p.success) throw new DashboardError("invalid_request", "invalid namespace or name");
  return p.data;
}

function objectKey(req: Request): string {
  const { namespace, name } = objectParams(req);
  return `${namespace}/${name}`;
}
