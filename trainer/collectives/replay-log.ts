// The messages this rank sent for its recent operations, kept so they can be
// published again after the NATS connection dropped. Core NATS loses what is
// in flight when a server dies, what a client publishes while disconnected
// (nats.js discards its outbound buffer when it reconnects), and what reaches
// a restarted server before the receiver has subscribed again. Nobody can
// tell which messages those were, so after a reconnect each rank sends again
// everything a peer might still be waiting for, and receivers drop what they
// already have by its (step, rank, chunk) header.
//
// What a peer might still be waiting for: the messages of every operation
// since the newest one that every rank is known to have begun. Operations run
// one at a time, a rank begins one only after its previous one completed, so
// a peer that began operation X holds everything we sent before X.
//
// The log keeps the encoded messages themselves, never a view of the caller's
// buffer: allreduce overwrites that buffer with the mean, and a repeated
// contribution must carry the original gradient bits.

export interface LoggedMessage {
  subject: string;
  data: Uint8Array;
  /** The one rank this subject reaches; undefined when it reaches every rank. */
  to: number | undefined;
}

interface LoggedOperation {
  label: string;
  messages: LoggedMessage[];
}

export class ReplayLog {
  private operations: LoggedOperation[] = [];

  /** Starts the record of operation `label`; later messages belong to it. */
  begin(label: string): void {
    this.operations.push({ label, messages: [] });
  }

  /** Records a message of the newest operation. */
  record(message: LoggedMessage): void {
    const newest = this.operations.at(-1);
    if (!newest) throw new Error(`message on ${message.subject} recorded outside any operation`);
    newest.messages.push(message);
  }

  /** Every rank has begun the newest operation: the older ones can no longer be missed. */
  everyRankBeganNewest(): void {
    if (this.operations.length > 1) this.operations.splice(0, this.operations.length - 1);
  }

  /** What to send again to `rank` (undefined: to every rank), oldest first. */
  messagesFor(rank: number | undefined): LoggedMessage[] {
    return this.operations.flatMap((op) =>
      op.messages.filter((m) => rank === undefined || m.to === undefined || m.to === rank),
    );
  }

  /** Labels of the operations kept, oldest first (for logs and tests). */
  labels(): string[] {
    return this.operations.map((op) => op.label);
  }

  /** Bytes kept: what the log costs in memory. */
  bytes(): number {
    let n = 0;
    for (const op of this.operations) for (const m of op.messages) n += m.data.byteLength;
    return n;
  }
}
