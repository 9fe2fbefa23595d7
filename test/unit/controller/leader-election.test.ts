// Leader election with two replicas whose clocks disagree by an hour, over a
// stand-in for the Lease API with the apiserver's compare-and-swap on
// resourceVersion. Time is driven by hand (FakeClock).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { createLogger } from "../../../common/log/logger.js";
import { LeaderElector, type LeaseApi } from "../../../controller/kube/leader-election.js";
import { FakeClock } from "../../support/fake-clock.js";

const HOUR = 3_600_000;

/** One Lease, as the apiserver keeps it; `down` makes one identity's writes fail (a crashed or cut-off holder). */
class LeaseStore {
  lease: k8s.V1Lease | undefined;
  down = new Set<string>();
  private rv = 0;

  api(identity: string): LeaseApi {
    const gone = () => new k8s.ApiException(404, "not found", "", {});
    return {
      readNamespacedLease: async () => {
        if (this.down.has(identity)) throw new k8s.ApiException(500, "unreachable", "", {});
        if (!this.lease) throw gone();
        return structuredClone(this.lease);
      },
      createNamespacedLease: async ({ body }: { namespace: string; body: k8s.V1Lease }) => {
        if (this.lease) throw new k8s.ApiException(409, "exists", "", {});
        this.lease = {
          ...structuredClone(body),
          metadata: { ...body.metadata, resourceVersion: String(++this.rv) },
        };
        return structuredClone(this.lease);
      },
      replaceNamespacedLease: async ({ body }: { name: string; namespace: string; body: k8s.V1Lease }) => {
        if (this.down.has(identity)) throw new k8s.ApiException(500, "unreachable", "", {});
        if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion)
          throw new k8s.ApiException(409, "conflict", "", {});
        this.lease = {
          ...structuredClone(body),
          metadata: { ...body.metadata, resourceVersion: String(++this.rv) },
        };
        return structuredClone(this.lease);
      },
    } as unknown as LeaseApi;
  }

  get holder(): string | undefined {
    return this.lease?.spec?.holderIdentity;
  }
}

function replica(store: LeaseStore, identity: string, clock: FakeClock) {
  const elector = new LeaderElector({
    kc: new k8s.KubeConfig(),
    namespace: "stylekube-system",
    name: "stylekube",
    identity,
    leaseDurationSeconds: 15,
    renewDeadlineMs: 10_000,
    retryPeriodMs: 2_000,
    log: createLogger("test", "silent"),
    api: store.api(identity),
    clock,
  });
  const ended = elector.run(() => undefined);
  return { elector, ended };
}

/** Move every replica's clock forward together, a second at a time, checking `each` after every step. */
async function elapse(clocks: FakeClock[], ms: number, each: () => void = () => undefined) {
  for (let t = 0; t < ms; t += 1_000) {
    for (const c of clocks) await c.advance(1_000);
    each();
  }
}

describe("LeaderElector", () => {
  it("a standby whose clock runs an hour ahead never takes a lease that is being renewed", async () => {
    const store = new LeaseStore();
    const clockA = new FakeClock(Date.parse("2026-03-01T12:00:00Z"));
    const clockB = new FakeClock(clockA.now() + HOUR);
    const a = replica(store, "a", clockA);
    await elapse([clockA], 1_000);
    assert.equal(a.elector.isLeader, true);
    const b = replica(store, "b", clockB);
    // By B's clock A's renewTime is an hour old; judged by its own clock since
    // it saw the record change, A is alive.
    await elapse([clockA, clockB], 60_000, () => {
      assert.equal(b.elector.isLeader, false, "the standby took a renewed lease");
      assert.equal(store.holder, "a");
    });
    a.elector.stop();
    b.elector.stop();
    await Promise.all([a.ended, b.ended]);
  });

  it("a standby whose clock runs an hour behind takes over one lease duration after the holder stopped renewing", async () => {
    const store = new LeaseStore();
    const clockA = new FakeClock(Date.parse("2026-03-01T12:00:00Z"));
    const clockB = new FakeClock(clockA.now() - HOUR);
    const a = replica(store, "a", clockA);
    await elapse([clockA], 1_000);
    const b = replica(store, "b", clockB);
    await elapse([clockA, clockB], 10_000);
    assert.equal(b.elector.isLeader, false);
    store.down.add("a"); // A is cut off: no more renewals
    const cutAt = clockB.now();
    let tookOverAt: number | undefined;
    await elapse([clockA, clockB], 30_000, () => {
      if (b.elector.isLeader) tookOverAt ??= clockB.now();
    });
    assert.ok(tookOverAt !== undefined, "the standby never took over (A's renewTime is in its future)");
    const after = tookOverAt - cutAt;
    assert.ok(after >= 13_000 && after <= 19_000, `took over ${after} ms after the last renewal`);
    assert.equal(store.holder, "b");
    assert.equal(await a.ended, "failed to renew the lease within the renew deadline");
    b.elector.stop();
    await b.ended;
  });

  it("a lease released on shutdown is taken at the next try", async () => {
    const store = new LeaseStore();
    const clockA = new FakeClock();
    const clockB = new FakeClock(clockA.now() + HOUR);
    const a = replica(store, "a", clockA);
    await elapse([clockA], 1_000);
    const b = replica(store, "b", clockB);
    await elapse([clockA, clockB], 4_000);
    a.elector.stop();
    assert.equal(await a.ended, "stopped");
    assert.equal(store.holder, "");
    await elapse([clockB], 2_000);
    assert.equal(b.elector.isLeader, true);
    b.elector.stop();
    await b.ended;
  });
});
