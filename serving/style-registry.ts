// Which model serves each style, changed while requests run.
//
// Every request leases the model its style has when it arrives and keeps it
// to the end, so a replacement or removal never fails a request in flight: a
// replaced model is swapped in only after the new one has loaded (atomically:
// one assignment on this single HTTP thread), and the old one is disposed
// once its last lease is released.
//
// Two ways to change styles:
// - configure(map): the declared set (STYLEKUBE_STYLES, STYLEKUBE_STYLES_FILE).
//   Loads in the background and retries with backoff forever, because a
//   declared model may simply not be written yet; readiness waits for all.
// - put(name, uri) / remove(name): the admin API. put is all-or-nothing: it
//   loads first and changes nothing if that fails, so a typo in a URI cannot
//   make a serving pod unready.
import type { Logger } from "../common/log/logger.js";
import type { ModelDescription } from "../model/model-export.js";
import type { ModelHost } from "./inference-pool.js";
import type { StyleMap } from "./style-map.js";

export interface LoadedModel {
  readonly modelId: number;
  readonly uri: string;
  readonly description: ModelDescription;
  readonly loadedAt: Date;
  /** Requests holding a lease on this model. */
  inflight: number;
  /** Replaced or removed: disposed when inflight reaches 0. */
  retired: boolean;
}

export interface Lease {
  readonly model: LoadedModel;
  /** Idempotent. */
  release(): void;
}

export type StyleState = "loading" | "ready" | "failed";

export interface StyleStatus {
  name: string;
  /** The configured model (may differ from loaded.modelURI while a replacement loads). */
  modelURI: string;
  state: StyleState;
  loaded?: {
    modelURI: string;
    style: string;
    normalization: ModelDescription["normalization"];
    upsampling: ModelDescription["upsampling"];
    trainedSteps: number;
    imageSize: number;
    createdAt: string;
    loadedAt: string;
  };
  /** Why the last load failed (it is being retried). */
  error?: string;
}

export class ModelLoadError extends Error {
  override readonly name = "ModelLoadError";
}
export class TooManyStylesError extends Error {
  override readonly name = "TooManyStylesError";
}
/** A later change to the same style won while this one was loading. */
export class SupersededError extends Error {
  override readonly name = "SupersededError";
}

interface Entry {
  name: string;
  uri: string;
  current: LoadedModel | undefined;
  loading: boolean;
  error: string | undefined;
  attempts: number;
  retryTimer: NodeJS.Timeout | undefined;
}

export interface StyleRegistryOptions {
  log: Logger;
  retryMs: number;
  retryMaxMs: number;
  maxStyles: number;
}

export class StyleRegistry {
  readonly #entries = new Map<string, Entry>();
  /** Bumped by every change of a style; a load that finishes under an older value is discarded. */
  readonly #intent = new Map<string, number>();
  #closed = false;

  constructor(
    private readonly host: ModelHost,
    private readonly options: StyleRegistryOptions,
  ) {}

  #bump(name: string): number {
    const v = (this.#intent.get(name) ?? 0) + 1;
    this.#intent.set(name, v);
    return v;
  }

  /** Makes the declared set the served set: adds, replaces (URI changed) and removes styles. */
  configure(styles: StyleMap): void {
    for (const name of [...this.#entries.keys()]) if (!(name in styles)) this.remove(name);
    for (const [name, uri] of Object.entries(styles)) {
      const entry = this.#entries.get(name);
      if (entry?.uri === uri && (entry.current?.uri === uri || entry.loading || entry.retryTimer)) continue;
      const next: Entry = entry ?? {
        name,
        uri,
        current: undefined,
        loading: false,
        error: undefined,
        attempts: 0,
        retryTimer: undefined,
      };
      next.uri = uri;
      next.attempts = 0;
      this.#entries.set(name, next);
      this.#loadInBackground(next);
    }
  }

  #loadInBackground(entry: Entry): void {
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    entry.loading = true;
    const intent = this.#bump(entry.name);
    const started = performance.now();
    this.host.load(entry.uri).then(
      ({ modelId, description }) => {
        if (this.#closed || this.#intent.get(entry.name) !== intent) {
          this.host.unload(modelId);
          return;
        }
        entry.loading = false;
        this.#install(entry, {
          modelId,
          uri: entry.uri,
          description,
          loadedAt: new Date(),
          inflight: 0,
          retired: false,
        });
        this.options.log.info(
          { style: entry.name, modelURI: entry.uri, ms: Math.round(performance.now() - started) },
          "style loaded",
        );
      },
      (err: unknown) => {
        if (this.#closed || this.#intent.get(entry.name) !== intent) return;
        entry.loading = false;
        entry.error = err instanceof Error ? err.message : String(err);
        entry.attempts++;
        const delay = Math.min(this.options.retryMaxMs, this.options.retryMs * 2 ** (entry.attempts - 1));
        this.options.log.warn(
          { style: entry.name, modelURI: entry.uri, err, retryInMs: delay },
          "style model could not be loaded; retrying",
        );
        entry.retryTimer = setTimeout(() => this.#loadInBackground(entry), delay);
        entry.retryTimer.unref();
      },
    );
  }

  #install(entry: Entry, model: LoadedModel): void {
    const old = entry.current;
    entry.current = model; // the swap: requests arriving from now on get the new model
    entry.error = undefined;
    entry.attempts = 0;
    if (old) this.#retire(old);
  }

  #retire(model: LoadedModel): void {
    model.retired = true;
    if (model.inflight === 0) this.host.unload(model.modelId);
  }

  /**
   * Admin API: serve `uri` as `name`, replacing any model it has. Resolves
   * once the new model serves; on failure nothing has changed.
   */
  async put(name: string, uri: string): Promise<{ created: boolean; status: StyleStatus }> {
    if (!this.#entries.has(name) && this.#entries.size >= this.options.maxStyles) {
      throw new TooManyStylesError(`this server already has ${this.#entries.size} styles (the limit)`);
    }
    const intent = this.#bump(name);
    // This call takes over the style: a background retry pending for it must
    // not fire meanwhile and supersede it.
    const pending = this.#entries.get(name);
    if (pending) {
      clearTimeout(pending.retryTimer);
      pending.retryTimer = undefined;
    }
    let loaded: Awaited<ReturnType<ModelHost["load"]>>;
    try {
      loaded = await this.host.load(uri);
    } catch (err) {
      // Nothing changed: a configured style that was waiting keeps retrying.
      if (pending && !pending.current && !this.#closed && this.#intent.get(name) === intent) {
        this.#loadInBackground(pending);
      }
      throw new ModelLoadError(
        `style ${name}: cannot load ${uri}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (this.#closed || this.#intent.get(name) !== intent) {
      this.host.unload(loaded.modelId);
      throw new SupersededError(`style ${name} was changed again while ${uri} loaded`);
    }
    const existing = this.#entries.get(name);
    const entry: Entry = existing ?? {
      name,
      uri,
      current: undefined,
      loading: false,
      error: undefined,
      attempts: 0,
      retryTimer: undefined,
    };
    clearTimeout(entry.retryTimer);
    entry.retryTimer = undefined;
    entry.loading = false;
    entry.uri = uri;
    this.#entries.set(name, entry);
    this.#install(entry, { ...loaded, uri, loadedAt: new Date(), inflight: 0, retired: false });
    this.options.log.info({ style: name, modelURI: uri }, existing ? "style replaced" : "style added");
    return { created: !existing, status: this.#status(entry) };
  }

  /** Stops serving `name`; requests already holding its model finish with it. */
  remove(name: string): boolean {
    const entry = this.#entries.get(name);
    this.#bump(name); // also cancels a put in progress
    if (!entry) return false;
    clearTimeout(entry.retryTimer);
    this.#entries.delete(name);
    if (entry.current) this.#retire(entry.current);
    this.options.log.info({ style: name }, "style removed");
    return true;
  }

  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /** The model serving `name` now, held until release(); undefined when the style is unknown or not loaded yet. */
  acquire(name: string): Lease | undefined {
    const model = this.#entries.get(name)?.current;
    if (!model) return undefined;
    model.inflight++;
    let released = false;
    return {
      model,
      release: () => {
        if (released) return;
        released = true;
        model.inflight--;
        if (model.retired && model.inflight === 0) this.host.unload(model.modelId);
      },
    };
  }

  #status(entry: Entry): StyleStatus {
    const m = entry.current;
    const state: StyleState =
      m?.uri === entry.uri ? "ready" : entry.error !== undefined && !entry.loading ? "failed" : "loading";
    return {
      name: entry.name,
      modelURI: entry.uri,
      state,
      ...(m
        ? {
            loaded: {
              modelURI: m.uri,
              style: m.description.style,
              normalization: m.description.normalization,
              upsampling: m.description.upsampling,
              trainedSteps: m.description.trainedSteps,
              imageSize: m.description.imageSize,
              createdAt: m.description.createdAt,
              loadedAt: m.loadedAt.toISOString(),
            },
          }
        : {}),
      ...(entry.error !== undefined ? { error: entry.error } : {}),
    };
  }

  list(): StyleStatus[] {
    return [...this.#entries.values()]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => this.#status(e));
  }

  get(name: string): StyleStatus | undefined {
    const entry = this.#entries.get(name);
    return entry && this.#status(entry);
  }

  /** Ready when every configured style has a model (a Service then routes only to replicas that serve them all); lists those still waiting. */
  readiness(): { ready: boolean; waiting: string[] } {
    const waiting = [...this.#entries.values()].filter((e) => !e.current).map((e) => e.name);
    return { ready: waiting.length === 0, waiting };
  }

  /** Loaded models, for metrics. */
  loadedCount(): number {
    return [...this.#entries.values()].filter((e) => e.current).length;
  }

  close(): void {
    this.#closed = true;
    for (const e of this.#entries.values()) clearTimeout(e.retryTimer);
  }
}
