// The event recorder's aggregation against a stand-in for the two Event
// calls it makes: repeats bump the count, and a repeat whose Event is gone
// (the apiserver's event TTL) or whose PATCH failed is not lost.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { createLogger } from "../../../common/log/logger.js";
import { EventRecorder, type EventsApi } from "../../../controller/kube/events.js";

/** Events by name, as an apiserver would keep them; `expire` drops them all (TTL). */
class EventStore {
  readonly events = new Map<string, k8s.CoreV1Event>();
  failNextPatchWith: number | undefined;
  private n = 0;

  readonly api = {
    createNamespacedEvent: async ({ body }: { namespace: string; body: k8s.CoreV1Event }) => {
      const name = `${body.metadata?.generateName ?? ""}${++this.n}`;
      const event = { ...body, metadata: { ...body.metadata, name } };
      this.events.set(name, event);
      return event;
    },
    patchNamespacedEvent: async ({
      name,
      body,
    }: {
      name: string;
      namespace: string;
      body: { count: number };
    }) => {
      const code = this.failNextPatchWith;
      this.failNextPatchWith = undefined;
      const event = this.events.get(name);
      if (code !== undefined || !event) throw new k8s.ApiException(code ?? 404, "patch failed", "", {});
      event.count = body.count;
      return event;
    },
  } as unknown as EventsApi;

  counts(reason: string): number[] {
    return [...this.events.values()].filter((e) => e.reason === reason).map((e) => e.count ?? 0);
  }
}

const target = {
  apiVersion: "stylekube.io/v1alpha1",
  kind: "StyleTraining",
  metadata: { name: "t", namespace: "ns", uid: "u" },
};
const recorderOn = (store: EventStore) =>
  new EventRecorder(new k8s.KubeConfig(), "test", createLogger("test", "silent"), store.api);

describe("EventRecorder", () => {
  it("folds repeats into one Event's count", async () => {
    const store = new EventStore();
    const rec = recorderOn(store);
    for (let i = 0; i < 3; i++) await rec.record(target, "Warning", "ServerNotFound", "no server");
    assert.deepEqual(store.counts("ServerNotFound"), [3]);
  });

  it("a repeat after the Event expired (404 on PATCH) creates a new one, and later repeats count on it", async () => {
    const store = new EventStore();
    const rec = recorderOn(store);
    await rec.record(target, "Warning", "ServerNotFound", "no server");
    store.events.clear(); // the apiserver's event TTL passed
    await rec.record(target, "Warning", "ServerNotFound", "no server");
    await rec.record(target, "Warning", "ServerNotFound", "no server");
    assert.deepEqual(store.counts("ServerNotFound"), [2]);
  });

  it("a PATCH that failed otherwise forgets the Event, so the next repeat is recorded", async () => {
    const store = new EventStore();
    const rec = recorderOn(store);
    await rec.record(target, "Normal", "Running", "all running");
    store.failNextPatchWith = 500;
    await rec.record(target, "Normal", "Running", "all running"); // lost (best effort), but forgotten
    await rec.record(target, "Normal", "Running", "all running");
    assert.deepEqual(store.counts("Running").sort(), [1, 1]);
  });
});
