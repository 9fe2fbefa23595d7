// Read-your-own-writes over an informer cache, like client-go's integer
// resourceVersion mutation cache: after a successful write the returned
// object is remembered, and a read returns it until the cache has caught up
// with it (the cache holds the same or a newer resourceVersion). Without it a
// pass that starts before the watch delivers our last status write decides
// from the status before it. resourceVersions are compared as integers, as
// etcd-backed apiservers issue them; one that is not an integer makes the
// cache win.
import type { ObjectWithMeta } from "./informer.js";

function version(obj: ObjectWithMeta | undefined): number | undefined {
  const rv = obj?.metadata?.resourceVersion;
  if (rv === undefined || !/^\d+$/.test(rv)) return undefined;
  return Number(rv);
}

export class OwnWrites<T extends ObjectWithMeta> {
  private readonly written = new Map<string, T>();

  remember(key: string, obj: T): void {
    this.written.set(key, obj);
  }

  /** The newer of the cached object and our last write of it; undefined when the cache says it is gone. */
  read(key: string, cached: T | undefined): T | undefined {
    const mine = this.written.get(key);
    if (!mine) return cached;
    if (!cached) {
      this.written.delete(key);
      return undefined;
    }
    const ours = version(mine);
    const theirs = version(cached);
    if (ours !== undefined && theirs !== undefined && ours > theirs) return mine;
    this.written.delete(key);
    return cached;
  }

  forget(key: string): void {
    this.written.delete(key);
  }
}
