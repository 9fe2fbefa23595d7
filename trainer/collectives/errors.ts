// Errors raised by the collectives. Every failure that involves peers names the
// rank(s) at fault in `missingRanks`, so the worker's log line — and through it
// the operator's Failed/Restarting condition — says which pod to look at
// instead of "timed out".

/** Base class: any failed collective operation. Once thrown, the Collective is
 * poisoned (like an aborted NCCL communicator): synchronous training cannot
 * continue with a partial gang, so every later call fails with the same error
 * and the attempt must restart. */
export class CollectiveError extends Error {
  /** Ranks whose absence or misbehaviour caused the failure (sorted, may be empty). */
  readonly missingRanks: readonly number[];

  constructor(message: string, missingRanks: readonly number[] = [], options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.missingRanks = [...missingRanks].sort((a, b) => a - b);
  }
}

/** Not every worker of the attempt announced itself before the deadline. */
export class RendezvousTimeoutError extends CollectiveError {}

/** A collective (allreduce, broadcast, barrier) did not complete within its deadline. */
export class StepTimeoutError extends CollectiveError {
  constructor(
    message: string,
    missingRanks: readonly number[],
    /** The step (allreduce), broadcast sequence number or barrier name. */
    readonly step: number | string,
  ) {
    super(message, missingRanks);
  }
}

/** A peer announced that it is leaving (closed, crashed with a handler, or
 * aborted) while this worker still needed it. */
export class PeerLeftError extends CollectiveError {
  constructor(
    /** The rank that announced it is leaving. */
    readonly rank: number,
    readonly reason: string,
    context: string,
    /** When the leaver aborted because of other ranks (its own timeout naming
     * a dead peer), those ranks: the root cause is blamed, not the messenger. */
    blame: readonly number[] = [],
  ) {
    super(`rank ${rank} left the collective ${context}: ${reason}`, blame.length > 0 ? blame : [rank]);
  }
}

/** Peers disagree about the shape of the job (world size, buffer length,
 * duplicate rank): a configuration bug, never worth waiting for. */
export class ProtocolError extends CollectiveError {}

/** The NATS connection closed under the collective, or close() was called
 * while an operation was in flight. */
export class ConnectionClosedError extends CollectiveError {}

/** "rank 2" / "ranks 1, 3" — the wording every error message uses. */
export function formatRanks(ranks: readonly number[]): string {
  const sorted = [...ranks].sort((a, b) => a - b);
  return sorted.length === 1 ? `rank ${sorted[0]}` : `ranks ${sorted.join(", ")}`;
}
