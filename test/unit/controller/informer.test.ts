// The informer's list/watch loop with a scripted apiserver (list results and
// watch streams) and a hand-driven clock: 410 Gone re-lists at once and
// reports what vanished meanwhile, other errors back off, and the resync
// timer re-lists.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { createLogger } from "../../../common/log/logger.js";
import {
  Informer,
  type InformerEvent,
  type ListResult,
  type WatchFn,
} from "../../../controller/kube/informer.js";
import { FakeClock, settle } from "../../support/fake-clock.js";

interface Obj {
  metadata: { name: string; namespace: string; resourceVersion: string };
}
const obj = (name: string, rv: number): Obj => ({
  metadata: { name, namespace: "ns", resourceVersion: String(rv) },
});

/** Scripted list results and watch calls; each watch call gets the next script. */
class FakeServer {
  lists: (() => ListResult<Obj>)[] = [];
  listCalls = 0;
  watchQueries: Record<string, string | number | boolean>[] = [];
  /** Each runs one watch call: emit events, then end it (or leave it open). */
  watches: ((emit: (type: string, o: unknown) => void, end: (err: unknown) => void) => void)[] = [];

  list = async (): Promise<ListResult<Obj>> => {
    const next = this.lists[Math.min(this.listCalls++, this.lists.length - 1)]!;
    return next();
  };

  watch: WatchFn = async (_path, query, onEvent, onDone) => {
    this.watchQueries.push(query);
    const script = this.watches.shift();
    const controller = new AbortController();
    // An unscripted watch stays open until aborted, like a quiet server.
    controller.signal.addEventListener("abort", () =>
      onDone(Object.assign(new Error("aborted"), { name: "AbortError" })),
    );
    if (script) queueMicrotask(() => script(onEvent, onDone));
    return controller;
  };
}

function informerOn(server: FakeServer, clock: FakeClock, resyncMs = 0) {
  const events: [InformerEvent, string][] = [];
  const informer = new Informer<Obj>({
    kc: new k8s.KubeConfig(),
    path: "/api/v1/namespaces/ns/things",
    list: server.list,
    watch: server.watch,
    clock,
    resyncMs,
    log: createLogger("test", "silent"),
  });
  informer.on((e, o) => events.push([e, o.metadata.name]));
  return { informer, events };
}

describe("Informer", () => {
  it("watches from the list's resourceVersion and re-lists at once on 410 Gone", async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    server.lists = [
      () => ({ items: [obj("a", 1)], metadata: { resourceVersion: "1" } }),
      () => ({ items: [obj("b", 7)], metadata: { resourceVersion: "9" } }),
    ];
    server.watches = [
      (emit, end) => {
        emit("ADDED", obj("b", 2));
        end(null); // the server closed the watch: resume from rv 2
      },
      (emit, end) => {
        emit("ERROR", { code: 410, message: "too old resource version" });
        end(null);
      },
    ];
    const { informer, events } = informerOn(server, clock);
    informer.start();
    await informer.waitForSync();
    await settle();
    assert.equal(server.watchQueries[0]!.resourceVersion, "1");
    assert.equal(server.watchQueries[1]!.resourceVersion, "2");
    assert.equal(server.listCalls, 2, "410 re-lists without waiting");
    assert.equal(server.watchQueries[2]!.resourceVersion, "9");
    assert.deepEqual(
      informer.list().map((o) => o.metadata.name),
      ["b"],
    );
    assert.deepEqual(events, [
      ["added", "a"],
      ["added", "b"],
      ["modified", "b"],
      ["deleted", "a"],
    ]);
    assert.equal(clock.pending, 0, "no backoff timer for a 410");
    await informer.stop();
  });

  it("backs off after errors, growing, and resets after a success", async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    let failures = 3;
    server.lists = [
      () => {
        if (failures-- > 0) throw new Error("connection refused");
        return { items: [obj("a", 1)], metadata: { resourceVersion: "1" } };
      },
    ];
    const { informer } = informerOn(server, clock);
    informer.start();
    await settle();
    assert.equal(server.listCalls, 1);
    assert.equal(informer.consecutiveErrors, 1);
    // First backoff: 250–500 ms (base 500 with jitter); nothing before.
    await clock.advance(249);
    assert.equal(server.listCalls, 1, "retried before the backoff");
    // Step to the retry, wherever the jitter put it, so the next backoff is
    // measured from it.
    for (let waited = 249; server.listCalls < 2 && waited < 500; waited++) await clock.advance(1);
    assert.equal(server.listCalls, 2, "no retry within the first backoff");
    // Second: 500–1000 ms after that retry.
    await clock.advance(499);
    assert.equal(server.listCalls, 2, "the second backoff did not grow");
    await clock.advance(501);
    assert.equal(server.listCalls, 3);
    await clock.advance(2_000);
    assert.equal(server.listCalls, 4);
    assert.equal(informer.hasSynced(), true);
    assert.equal(informer.consecutiveErrors, 0);
    await informer.stop();
  });

  it("re-lists when the resync period is due, reporting unchanged objects again", async () => {
    const server = new FakeServer();
    const clock = new FakeClock();
    server.lists = [() => ({ items: [obj("a", 1)], metadata: { resourceVersion: "1" } })];
    server.watches = [(_emit, end) => void clock.setTimeout(() => end(null), 60_000)];
    const { informer, events } = informerOn(server, clock, 60_000);
    informer.start();
    await informer.waitForSync();
    await clock.advance(60_000);
    assert.equal(server.listCalls, 2);
    assert.deepEqual(events, [
      ["added", "a"],
      ["modified", "a"],
    ]);
    await informer.stop();
  });
});
