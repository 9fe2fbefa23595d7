// A list+watch cache of one kind of object, the way client-go's reflector
// works: list, then watch from the list's resourceVersion; on 410 Gone (the
// version fell out of etcd's window) list again; on any other error back off
// and resume; and re-list on a timer anyway, so a missed event is repaired
// within one resync period. Handlers only get keys: reconcilers are
// level-triggered and read the current object from the cache.
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import { backoffDelay } from "./backoff.js";
import { realClock, type Clock } from "./clock.js";

export interface ObjectWithMeta {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    ownerReferences?: k8s.V1OwnerReference[];
  };
}

export interface ListResult<T> {
  items: T[];
  metadata?: { resourceVersion?: string };
}

export type InformerEvent = "added" | "modified" | "deleted";

/** k8s.Watch's watch(): one watch request, events to onEvent, its end (or error) to onDone. */
export type WatchFn = (
  path: string,
  query: Record<string, string | number | boolean>,
  onEvent: (type: string, obj: unknown) => void,
  onDone: (err: unknown) => void,
) => Promise<AbortController>;

export interface InformerOptions<T> {
  kc: k8s.KubeConfig;
  /** Watch path, e.g. `/apis/stylekube.io/v1alpha1/styletrainings`. */
  path: string;
  list: () => Promise<ListResult<T>>;
  labelSelector?: string;
  /** Full re-list period; 0 disables. */
  resyncMs?: number;
  log: Logger;
  /** Stand-ins for tests: the watch call (default: k8s.Watch on kc) and the clock. */
  watch?: WatchFn;
  clock?: Clock;
}

export function objectKey(obj: ObjectWithMeta): string {
  const { namespace, name } = obj.metadata ?? {};
  return namespace ? `${namespace}/${name ?? ""}` : (name ?? "");
}

class GoneError extends Error {}

export class Informer<T extends ObjectWithMeta> {
  private readonly store = new Map<string, T>();
  private readonly handlers: ((event: InformerEvent, obj: T) => void)[] = [];
  private readonly abort = new AbortController();
  private resourceVersion = "";
  private synced = false;
  private syncedWaiters: (() => void)[] = [];
  private currentWatch: AbortController | undefined;
  private running: Promise<void> | undefined;
  /** Errors since the last successful list or watch, for backoff and /readyz. */
  consecutiveErrors = 0;

  private readonly clock: Clock;
  private readonly watchFn: WatchFn;

  constructor(private readonly opts: InformerOptions<T>) {
    this.clock = opts.clock ?? realClock;
    const watch = new k8s.Watch(opts.kc);
    this.watchFn =
      opts.watch ?? ((path, query, onEvent, onDone) => watch.watch(path, query, onEvent, onDone));
  }

  on(handler: (event: InformerEvent, obj: T) => void): void {
    this.handlers.push(handler);
  }

  get(key: string): T | undefined {
    return this.store.get(key);
  }

  list(): T[] {
    return [...this.store.values()];
  }

  hasSynced(): boolean {
    return this.synced;
  }

  waitForSync(): Promise<void> {
    if (this.synced) return Promise.resolve();
    return new Promise((resolve) => this.syncedWaiters.push(resolve));
  }

  start(): void {
    this.running ??= this.run();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.currentWatch?.abort();
    await this.running;
  }

  private emit(event: InformerEvent, obj: T): void {
    for (const h of this.handlers) {
      try {
        h(event, obj);
      } catch (err) {
        this.opts.log.error({ err, path: this.opts.path }, "informer handler threw");
      }
    }
  }

  private async run(): Promise<void> {
    const { log, path } = this.opts;
    let nextResync = this.nextResyncAt();
    while (!this.abort.signal.aborted) {
      try {
        if (this.resourceVersion === "" || this.clock.now() >= nextResync) {
          await this.relist();
          nextResync = this.nextResyncAt();
        }
        await this.watchOnce(nextResync);
        this.consecutiveErrors = 0;
      } catch (err) {
        if (this.abort.signal.aborted) break;
        if (err instanceof GoneError) {
          log.info({ path }, "watch expired (410 Gone); re-listing");
          this.resourceVersion = "";
          continue;
        }
        const delay = backoffDelay(this.consecutiveErrors++, 500, 30_000);
        log.warn({ path, err, retryInMs: delay }, "list/watch failed; backing off");
        await this.clock.sleep(delay, this.abort.signal);
      }
    }
  }

  private nextResyncAt(): number {
    const period = this.opts.resyncMs ?? 0;
    return period > 0 ? this.clock.now() + period : Number.POSITIVE_INFINITY;
  }

  private async relist(): Promise<void> {
    const result = await this.opts.list();
    const seen = new Set<string>();
    for (const obj of result.items) {
      const key = objectKey(obj);
      seen.add(key);
      const old = this.store.get(key);
      this.store.set(key, obj);
      // An unchanged object is still reported on a resync: reconcilers are
      // level-triggered and a periodic nudge is what repairs drift.
      this.emit(old ? "modified" : "added", obj);
    }
    for (const [key, obj] of this.store) {
      if (!seen.has(key)) {
        this.store.delete(key);
        this.emit("deleted", obj);
      }
    }
    this.resourceVersion = result.metadata?.resourceVersion ?? "";
    this.consecutiveErrors = 0;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncedWaiters.splice(0)) w();
    }
  }

  /** One watch request; resolves when the server ends it or the resync is due. */
  private watchOnce(until: number): Promise<void> {
    const timeoutSeconds = Math.max(
      1,
      Math.min(300 + Math.floor(Math.random() * 60), Math.floor((until - this.clock.now()) / 1000)),
    );
    const query: Record<string, string | number | boolean> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds,
    };
    if (this.opts.labelSelector) query.labelSelector = this.opts.labelSelector;
    return new Promise<void>((resolve, reject) => {
      let gone = false;
      const onEvent = (type: string, obj: unknown) => {
        if (type === "ERROR") {
          const status = obj as { code?: number; message?: string };
          if (status.code === 410) gone = true;
          else this.opts.log.warn({ path: this.opts.path, status }, "watch error event");
          return;
        }
        const o = obj as T;
        const rv = o.metadata?.resourceVersion;
        if (rv) this.resourceVersion = rv;
        if (type === "BOOKMARK") return;
        const key = objectKey(o);
        if (type === "DELETED") {
          this.store.delete(key);
          this.emit("deleted", o);
        } else {
          const existed = this.store.has(key);
          this.store.set(key, o);
          this.emit(existed || type === "MODIFIED" ? "modified" : "added", o);
        }
      };
      const onDone = (err: unknown) => {
        this.currentWatch = undefined;
        if (gone) return reject(new GoneError());
        const code = (err as { statusCode?: number; code?: number } | null)?.statusCode;
        if (code === 410) return reject(new GoneError());
        if (err && !(err instanceof Error && err.name === "AbortError")) return reject(err);
        resolve();
      };
      this.watchFn(this.opts.path, query, onEvent, onDone)
        .then((controller) => {
          this.currentWatch = controller;
          if (this.abort.signal.aborted) controller.abort();
        })
        .catch(reject);
    });
  }
}
