// Leader election through a coordination.k8s.io/v1 Lease, with client-go's
// semantics: acquire when the Lease is free or expired, renew every retry
// period, and step down (the caller exits) when renewal has failed for longer
// than the renew deadline — so two replicas never both act.
import * as k8s from "@kubernetes/client-node";
import type { Logger } from "../../common/log/logger.js";
import { sleep } from "./backoff.js";

export interface LeaderElectionOptions {
  kc: k8s.KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
}

function microTime(d: Date): k8s.V1MicroTime {
  return new k8s.V1MicroTime(d.getTime());
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private readonly leaseDurationSeconds: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly stopSignal = new AbortController();
  isLeader = false;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.api = opts.kc.makeApiClient(k8s.CoordinationV1Api);
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
    while (!this.stopSignal.signal.aborted && !(await this.tryAcquireOrRenew())) {
      await sleep(this.retryPeriodMs, this.stopSignal.signal);
    }
    if (this.stopSignal.signal.aborted) return "stopped before acquiring";
    this.isLeader = true;
    log.info({ identity, lease: `${this.opts.namespace}/${this.opts.name}` }, "became leader");
    const lost = new AbortController();
    const leading = Promise.resolve(lead(lost.signal));
    let lastRenew = Date.now();
    let reason = "stopped";
    while (!this.stopSignal.signal.aborted) {
      await sleep(this.retryPeriodMs, this.stopSignal.signal);
      if (this.stopSignal.signal.aborted) break;
      if (await this.tryAcquireOrRenew()) {
        lastRenew = Date.now();
      } else if (Date.now() - lastRenew > this.renewDeadlineMs) {
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

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { namespace, name, identity, log } = this.opts;
    const now = new Date();
    try {
      let lease: k8s.V1Lease;
      try {
        lease = await this.api.readNamespacedLease({ name, namespace });
      } catch (err) {
        if (err instanceof k8s.ApiException && err.code === 404) {
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
      const renewed = spec.renewTime ? new Date(spec.renewTime).getTime() : 0;
      const expired =
        renewed + (spec.leaseDurationSeconds ?? this.leaseDurationSeconds) * 1000 < now.getTime();
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
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
      return true;
    } catch (err) {
      if (err instanceof k8s.ApiException && err.code === 409) return false;
      log.warn({ err: String(err) }, "lease acquire/renew failed");
      return false;
    }
  }

  private async release(): Promise<void> {
    const { namespace, name, identity } = this.opts;
    try {
      const lease = await this.api.readNamespacedLease({ name, namespace });
      if (lease.spec?.holderIdentity !== identity) return;
      lease.spec.holderIdentity = "";
      lease.spec.renewTime = microTime(new Date(0));
      await this.api.replaceNamespacedLease({ name, namespace, body: lease });
    } catch {
      // best effort: the lease expires by itself
    }
  }
}
