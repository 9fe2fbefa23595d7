// Leader election through a coordination.k8s.io/v1 Lease, with client-go's
// semantics: acquire when the Lease is free or expired, renew every retry
// period, and step down (the caller exits) when renewal has failed for longer
// than the renew deadline — so two replicas never both act.
//
// Expiry is judged as client-go does, by this replica's own clock: a lease
// is expired when its record has not changed for leaseDurationSeconds since
// this replica last saw it change. The holder's renewTime is written by
// another node's clock, and a skew of more than the lease duration would
// otherwise let a standby take a lease that is being renewed.
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import { isConflict, isNotFound } from "./api-errors.js";
import { realClock, type Clock } from "./clock.js";

/** The Lease calls leader election makes (CoordinationV1Api's), so a test can stand in for the apiserver. */
export type LeaseApi = Pick<
  k8s.CoordinationV1Api,
  "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease"
>;

export interface LeaderElectionOptions {
  kc: k8s.KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  api?: LeaseApi;
  clock?: Clock;
}

function microTime(ms: number): k8s.V1MicroTime {
  return new k8s.V1MicroTime(ms);
}

/** What identifies one version of the lease record; any change means its holder is alive. */
function recordOf(spec: k8s.V1LeaseSpec): string {
  const renew = spec.renewTime ? new Date(spec.renewTime).toISOString() : "";
  return JSON.stringify([
    spec.holderIdentity ?? "",
    renew,
    spec.leaseTransitions ?? 0,
    spec.acquireTime ? new Date(spec.acquireTime).toISOString() : "",
  ]);
}

export class LeaderElector {
  private readonly api: LeaseApi;
  private readonly clock: Clock;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly stopSignal = new AbortController();
  /** The lease record last seen, and when (by this replica's clock) it was first seen. */
  private observed: { record: string; at: number } | undefined;
  isLeader = false;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.api = opts.api ?? opts.kc.makeApiClient(k8s.CoordinationV1Api);
    this.clock = opts.clock ?? realClock;
    this.leaseDurationSeconds = opts.leaseDurationSeconds ?? 15;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
  }

  /**
   * Blocks until this process leads, runs `lead` and keeps renewing; resolves
   * with the reason when leadership is lost or `stop()` was called.
   */
  async run(lead: (lost: AbortSignal) => Promise<void> | void): Promise<string> {
    const { log, identity } = this.opts;
    const clock = this.clock;
    while (!this.stopSignal.signal.aborted && !(await this.tryAcquireOrRenew())) {
      await clock.sleep(this.retryPeriodMs, this.stopSignal.signal);
    }
    if (this.stopSignal.signal.aborted) return "stopped before acquiring";
    this.isLeader = true;
    log.info({ identity, lease: `${this.opts.namespace}/${this.opts.name}` }, "became leader");
    const lost = new AbortController();
    const leading = Promise.resolve(lead(lost.signal));
    let lastRenew = clock.now();
    let reason = "stopped";
    while (!this.stopSignal.signal.aborted) {
      await clock.sleep(this.retryPeriodMs, this.stopSignal.signal);
      if (this.stopSignal.signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = clock.now();
      } else if (clock.now() - lastRenew > this.renewDeadlineMs) {
        reason = "failed to renew the lease within the renew deadline";
        break;
      }
    }
    this.isLeader = false;
    lost.abort();
    await leading.catch(() => undefined);
    if (reason === "stopped") await this.release();
    log.warn({ identity, reason }, "stopped leading");
    return reason;
  }

  stop(): void {
    this.stopSignal.abort();
  }

  /** Expired by this replica's clock: the record has not changed for a lease duration since it was seen to. */
  private expired(spec: k8s.V1LeaseSpec, now: number): boolean {
    const record = recordOf(spec);
    if (this.observed?.record !== record) this.observed = { record, at: now };
    const duration = (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000;
    return this.observed.at + duration <= now;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, log } = this.opts;
    const now = this.clock.now();
    try {
      let lease: k8s.V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (isNotFound(err)) {
          await this.api.createNamespacedLease({
            namespace,
            body: {
              metadata: { name, namespace },
              spec: {
                holderIdentity: identity,
                leaseDurationSeconds: this.leaseDurationSeconds,
                acquireTime: microTime(now),
                renewTime: microTime(now),
                leaseTransitions: 0,
              },
            },
          });
          return true;
        }
        throw err;
      }
      const spec = lease.spec ?? {};
      const holder = spec.holderIdentity ?? "";
      const expired = this.expired(spec, now);
      if (holder !== "" && holder !== identity && !expired) return false;
      const transitions = (spec.leaseTransitions ?? 0) + (holder === identity ? 0 : 1);
      lease.spec = {
        holderIdentity: identity,
        leaseDurationSeconds: this.leaseDurationSeconds,
        acquireTime: holder === identity && spec.acquireTime ? spec.acquireTime : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      };
      // resourceVersion in lease.metadata makes this a compare-and-swap: two
      // candidates racing for an expired lease cannot both win.
      const written = await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      this.observed = { record: recordOf(written.spec ?? lease.spec), at: now };
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      log.warn({ err }, "lease acquire/renew failed");
      return false;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      lease.spec.holderIdentity = "";
      lease.spec.renewTime = microTime(0);
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    } catch {
      // best effort: the lease expires by itself
    }
  }
}
