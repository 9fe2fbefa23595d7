// One attempt's collective communicator over core NATS: rendezvous, barrier,
// broadcast and allreduce-mean for N data-parallel workers. The protocol,
// in short:
//
// - join: subscribe to everything this rank will ever receive, flush (so the
//   server has the subscriptions before anyone is told we exist), then
//   announce hello until every rank has been heard *and* has said it heard
//   everyone. Only then does anyone send data, so core NATS never drops a
//   chunk for lack of a subscriber.
// - allreduceMean: sharded reduce-scatter + all-gather. Each rank owns one
//   contiguous slice; peers send it their copy of that slice, it sums the N
//   copies in rank order 0…N−1 (per chunk, as soon as the chunk is complete,
//   so reduction pipelines with the transfer), divides by N and publishes the
//   reduced chunk once. Every rank ends with the owners' bytes, so results are
//   bit-identical everywhere by construction, and the fixed order makes them
//   independent of arrival order (reproducible run to run).
// - every operation has a deadline and fails naming the ranks it still waits
//   for; a failure poisons the communicator and is announced to peers
//   ("leave", with the blamed ranks) so the whole gang fails fast.
// - reconnects: core NATS loses messages around a dropped connection (a NATS
//   restart), and nats.js reconnects and subscribes again by itself. After
//   each reconnect a rank publishes again what it sent for the operations a
//   peer may still need (replay-log.ts) and asks its peers to do the same,
//   which they do on its own replay subject. Repeats are dropped by header
//   and the summation order does not change, so the step completes with the
//   same bits as without the fault.
import { randomUUID } from "node:crypto";
import { endianness } from "node:os";
import type { Msg, NatsConnection, NatsError, Subscription } from "nats";
import { createLogger, type Logger } from "../../common/log/logger.js";
import { ChunkAssembler, chunkElementsFor, chunksOf, sliceOf, type Chunk } from "./chunking.js";
import { decodeControl, encodeControl, type ControlBody, type ControlMessage } from "./control.js";
import {
  CollectiveError,
  ConnectionClosedError,
  PeerLeftError,
  ProtocolError,
  RendezvousTimeoutError,
  StepTimeoutError,
  formatRanks,
} from "./errors.js";
import { watchConnection, type ConnectionWatch } from "./connection-events.js";
import { ChunkKind, buildMessage, decodeHeader, jobHash, payloadFloats, type ChunkHeader } from "./header.js";
import {
  CollectiveOptionsSchema,
  connectNats,
  type CollectiveOptions,
  type NatsOptions,
  type ResolvedCollectiveOptions,
} from "./options.js";
import { ReplayLog } from "./replay-log.js";
import { attemptSubjects, type AttemptSubjects } from "./subjects.js";

// Payloads are raw float32 in host order; every platform Node ships for is
// little-endian, and a big-endian worker would silently corrupt gradients.
if (endianness() !== "LE") throw new Error("stylekube collectives require a little-endian host");

export type JoinOptions = CollectiveOptions & {
  /** Logger to use (a child with job/attempt/rank is derived); default createLogger("collectives"). */
  logger?: Logger;
} & (
    | {
        /** An existing connection; the Collective does not close it. */ nc: NatsConnection;
        nats?: undefined;
      }
    | {
        /** Connect with these options; the Collective owns and closes the connection. */ nats: NatsOptions;
        nc?: undefined;
      }
  );

export interface CollectiveStats {
  messagesOut: number;
  bytesOut: number;
  messagesIn: number;
  bytesIn: number;
  /** Messages dropped, by why: another job/attempt, an old step, a repeat, unparseable. */
  dropped: { foreign: number; stale: number; duplicate: number; malformed: number };
  /** Times the NATS connection came back after dropping. */
  reconnects: number;
  /** Messages published again after a reconnect (ours, or a peer's). */
  replayed: number;
}

/** Sequence families: allreduce steps and broadcast numbers are counted separately. */
type Family = "allreduce" | "broadcast";

interface PendingChunk {
  header: ChunkHeader;
  data: Uint8Array;
  elements: number;
}

/** The one operation in flight. */
interface ActiveOp {
  readonly label: string;
  readonly family: Family | "barrier";
  readonly seq: number;
  /** Completing this operation proves that every rank has begun it (it
   * needed something from each of them). */
  readonly everyRankBegins: boolean;
  /** Data chunk of this operation (allreduce, broadcast). */
  onChunk(p: PendingChunk): void;
  /** Something on the control plane changed (barrier arrivals). */
  recheck(): void;
  /** Ranks this operation still needs something from, and what. */
  waitingOn(): { ranks: number[]; what: string };
  readonly done: Promise<void>;
  resolve(): void;
  reject(e: CollectiveError): void;
}

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: CollectiveError) => void } {
  let resolve!: () => void;
  let reject!: (e: CollectiveError) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // The rejection is always observed through `done`; this keeps an op that
  // fails after its caller stopped awaiting from crashing the process.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

export class Collective {
  readonly jobId: string;
  readonly attempt: number;
  readonly rank: number;
  readonly worldSize: number;
  /** float32 elements per message, from the server's max_payload. */
  readonly chunkElements: number;

  private readonly opts: ResolvedCollectiveOptions;
  private readonly subjects: AttemptSubjects;
  private readonly hash: number;
  private readonly instance = randomUUID();
  private readonly log: Logger;
  private readonly subs: Subscription[] = [];
  private readonly lastHeard: Float64Array;
  private readonly instances = new Map<number, string>();
  private readonly left = new Map<number, { reason: string; blame: number[] }>();
  private readonly early = new Map<string, PendingChunk[]>();
  private readonly barrierArrivals = new Map<string, Set<number>>();
  /** Per barrier name: generations started, and generations finished (older arrivals are stale). */
  private readonly barrierGen = new Map<string, number>();
  private readonly barrierDone = new Map<string, number>();
  private readonly current: { family: Record<Family, number> } = { family: { allreduce: -1, broadcast: -1 } };
  private broadcastSeq = 0;
  private scratch = new Float64Array(0);
  private op: ActiveOp | undefined;
  private failure: CollectiveError | undefined;
  private closed = false;
  private leaveSent = false;
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly replay = new ReplayLog();
  private connectionWatch: ConnectionWatch | undefined;
  /** False from a disconnect to the reconnect: peers' silence then is not theirs. */
  private connected = true;
  private reconnectWaiters: (() => void)[] = [];
  private readonly stats_: CollectiveStats = {
    messagesOut: 0,
    bytesOut: 0,
    messagesIn: 0,
    bytesIn: 0,
    dropped: { foreign: 0, stale: 0, duplicate: 0, malformed: 0 },
    reconnects: 0,
    replayed: 0,
  };
  // Rendezvous state, only meaningful until join resolves.
  private readonly helloFrom = new Set<number>();
  private readonly readyFrom = new Set<number>();
  private rendezvousWaiter: { resolve: () => void; reject: (e: CollectiveError) => void } | undefined;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly ownsConnection: boolean,
    opts: ResolvedCollectiveOptions,
    logger: Logger,
  ) {
    this.opts = opts;
    this.jobId = opts.jobId;
    this.attempt = opts.attempt;
    this.rank = opts.rank;
    this.worldSize = opts.worldSize;
    this.subjects = attemptSubjects(opts.jobId, opts.attempt);
    this.hash = jobHash(opts.jobId);
    const maxPayload = nc.info?.max_payload;
    if (maxPayload === undefined) throw new Error("NATS connection has no server info (not connected?)");
    this.chunkElements = chunkElementsFor(maxPayload, opts.maxChunkBytes);
    this.log = logger.child({ jobId: opts.jobId, attempt: opts.attempt, rank: opts.rank });
    this.lastHeard = new Float64Array(opts.worldSize).fill(Number.NaN);
    this.lastHeard[opts.rank] = performance.now();
  }

  /**
   * Connects (or adopts `nc`), subscribes, and waits until all `worldSize`
   * workers of this job attempt are present. Rejects with
   * RendezvousTimeoutError naming the ranks never heard from.
   */
  static async join(options: JoinOptions): Promise<Collective> {
    const { nc: given, nats, logger, ...rest } = options;
    const opts = CollectiveOptionsSchema.parse(rest);
    const log = logger ?? createLogger("collectives");
    let nc: NatsConnection;
    if (given) nc = given;
    else if (nats) nc = await connectNats(nats);
    else throw new TypeError("Collective.join needs either nc or nats options");
    let c: Collective;
    try {
      c = new Collective(nc, given === undefined, opts, log);
    } catch (e) {
      if (given === undefined) await nc.close();
      throw e;
    }
    try {
      c.watchConnectionEvents();
      await c.subscribe();
      await c.rendezvous();
    } catch (e) {
      await c.close();
      throw e;
    }
    c.startHeartbeat();
    c.log.info({ worldSize: c.worldSize, chunkElements: c.chunkElements }, "collective joined");
    return c;
  }

  /** Copies of the traffic counters. */
  stats(): CollectiveStats {
    return { ...this.stats_, dropped: { ...this.stats_.dropped } };
  }

  // ---------------------------------------------------------------- setup

  private async subscribe(): Promise<void> {
    const sub = (subject: string, handler: (m: Msg) => void): void => {
      this.subs.push(
        this.nc.subscribe(subject, {
          callback: (err: NatsError | null, m: Msg) => {
            if (err) {
              this.fail(new ConnectionClosedError(`subscription ${subject} failed: ${err.message}`));
              return;
            }
            this.stats_.messagesIn++;
            this.stats_.bytesIn += m.data.byteLength;
            try {
              handler(m);
            } catch (e) {
              // A bug in message handling must fail the step, not vanish inside
              // the NATS client's dispatcher.
              this.fail(
                e instanceof CollectiveError
                  ? e
                  : new ProtocolError(`handling ${subject}: ${e instanceof Error ? e.message : String(e)}`),
              );
            }
          },
        }),
      );
    };
    sub(this.subjects.control, (m) => this.onControl(m.data));
    sub(this.subjects.reduceScatter(this.rank), (m) => this.onData(m.data, ChunkKind.reduceScatter));
    sub(this.subjects.allGather, (m) => this.onData(m.data, ChunkKind.allGather));
    sub(this.subjects.broadcast, (m) => this.onData(m.data, ChunkKind.broadcast));
    sub(this.subjects.replay(this.rank), (m) => this.onData(m.data, "any"));
    // The flush round trip guarantees the server has registered every SUB
    // before our first hello goes out: a peer that hears us may send at once.
    await this.nc.flush();
    void this.nc.closed().then((err) => {
      if (!this.closed) {
        this.fail(new ConnectionClosedError(`NATS connection closed${err ? `: ${err.message}` : ""}`));
      }
    });
  }

  private rendezvous(): Promise<void> {
    const { promise, resolve, reject } = deferred();
    this.rendezvousWaiter = { resolve, reject };
    this.helloFrom.add(this.rank);
    this.instances.set(this.rank, this.instance);
    const announce = (): void => {
      this.sendControl({
        t: "hello",
        worldSize: this.worldSize,
        instance: this.instance,
        ready: this.helloFrom.size === this.worldSize,
      });
    };
    const timer = setInterval(announce, this.opts.announceIntervalMs);
    const deadline = setTimeout(() => {
      const missing = this.ranks().filter((r) => !this.helloFrom.has(r));
      const err =
        missing.length > 0
          ? new RendezvousTimeoutError(
              `rendezvous of job ${this.jobId} attempt ${this.attempt} timed out after ${this.opts.rendezvousTimeoutMs} ms on rank ${this.rank}: ` +
                `${formatRanks(missing)} of ${this.worldSize} never announced ${missing.length === 1 ? "itself" : "themselves"}`,
              missing,
            )
          : new RendezvousTimeoutError(
              `rendezvous of job ${this.jobId} attempt ${this.attempt} timed out after ${this.opts.rendezvousTimeoutMs} ms on rank ${this.rank}: ` +
                `all ranks announced, but ${formatRanks(this.notReady())} did not confirm hearing everyone`,
              this.notReady(),
            );
      this.fail(err);
    }, this.opts.rendezvousTimeoutMs);
    announce();
    this.checkRendezvous();
    return promise.finally(() => {
      clearInterval(timer);
      clearTimeout(deadline);
      this.rendezvousWaiter = undefined;
    });
  }

  private notReady(): number[] {
    return this.ranks().filter((r) => !this.readyFrom.has(r));
  }

  private checkRendezvous(): void {
    if (!this.rendezvousWaiter) return;
    if (this.helloFrom.size === this.worldSize && !this.readyFrom.has(this.rank)) {
      // Said once, reliably: everyone we heard from is already subscribed.
      this.readyFrom.add(this.rank);
      this.sendControl({ t: "hello", worldSize: this.worldSize, instance: this.instance, ready: true });
    }
    if (this.readyFrom.size === this.worldSize) this.rendezvousWaiter.resolve();
  }

  private startHeartbeat(): void {
    if (this.opts.heartbeatMs <= 0) return;
    this.heartbeat = setInterval(() => this.sendControl({ t: "hb" }), this.opts.heartbeatMs);
    // Heartbeats alone must never keep a finished worker alive.
    this.heartbeat.unref();
  }

  private watchConnectionEvents(): void {
    this.connectionWatch = watchConnection(this.nc, {
      onDisconnect: (server) => this.onDisconnect(server),
      onReconnect: (server) => this.onReconnect(server),
      onError: (e) =>
        this.fail(new ProtocolError(`after a reconnect: ${e instanceof Error ? e.message : String(e)}`)),
    });
  }

  private ranks(): number[] {
    return Array.from({ length: this.worldSize }, (_, i) => i);
  }

  // ------------------------------------------------------------- receiving

  private onControl(data: Uint8Array): void {
    const m = decodeControl(data);
    if (!m) {
      this.stats_.dropped.malformed++;
      return;
    }
    if (m.job !== this.jobId || m.attempt !== this.attempt || m.rank >= this.worldSize) {
      this.stats_.dropped.foreign++;
      return;
    }
    if (m.rank === this.rank) {
      // noEcho hides our own messages on connections we open; a control
      // message with our rank from another process is a duplicate rank.
      if (m.t === "hello" && m.instance !== this.instance) {
        this.fail(new ProtocolError(`two workers claim rank ${m.rank} in attempt ${this.attempt}`, [m.rank]));
      }
      return;
    }
    this.lastHeard[m.rank] = performance.now();
    switch (m.t) {
      case "hello":
        return this.onHello(m);
      case "barrier": {
        const key = `${m.name}#${m.gen}`;
        if (m.gen < (this.barrierDone.get(m.name) ?? 0)) {
          this.stats_.dropped.stale++;
          return;
        }
        let set = this.barrierArrivals.get(key);
        if (!set) this.barrierArrivals.set(key, (set = new Set()));
        set.add(m.rank);
        if (this.op?.family === "barrier") this.op.recheck();
        return;
      }
      case "hb":
        return;
      case "resend":
        return this.onResendRequest(m.rank);
      case "leave":
        return this.onLeave(m.rank, m.reason, m.blame);
    }
  }

  private onHello(m: Extract<ControlMessage, { t: "hello" }>): void {
    if (m.worldSize !== this.worldSize) {
      this.fail(
        new ProtocolError(
          `rank ${m.rank} runs with world size ${m.worldSize}, rank ${this.rank} with ${this.worldSize}`,
          [m.rank],
        ),
      );
      return;
    }
    const known = this.instances.get(m.rank);
    if (known !== undefined && known !== m.instance) {
      // A restarted process, or two pods with one rank: either way the peer
      // lost (or never had) the state this gang agreed on.
      this.fail(
        new ProtocolError(`rank ${m.rank} (re)joined attempt ${this.attempt} as a different process`, [
          m.rank,
        ]),
      );
      return;
    }
    this.instances.set(m.rank, m.instance);
    this.helloFrom.add(m.rank);
    if (m.ready) this.readyFrom.add(m.rank);
    this.checkRendezvous();
  }

  private onLeave(rank: number, reason: string, blame: number[]): void {
    if (this.left.has(rank)) return;
    this.left.set(rank, { reason, blame });
    // A peer closing when nobody needs it any more is the normal end of training.
    const needed = this.op?.waitingOn().ranks.includes(rank) ?? false;
    const level = needed || this.rendezvousWaiter || blame.length > 0 ? "warn" : "info";
    this.log[level]({ peer: rank, reason, blame }, "peer left");
    const context = this.op ? `during ${this.op.label}` : this.rendezvousWaiter ? "during rendezvous" : "";
    const err = new PeerLeftError(
      rank,
      reason,
      context,
      blame.filter((r) => r !== this.rank),
    );
    if (this.rendezvousWaiter) {
      this.fail(err);
      return;
    }
    // An operation that already has everything it needs from the leaver (it
    // published its last chunks and then closed) may still finish; anything
    // later fails at its start.
    if (this.op?.waitingOn().ranks.includes(rank)) this.fail(err);
  }

  /** A data chunk; `expected` is the kind its subject carries ("any" on the replay subject). */
  private onData(data: Uint8Array, expected: ChunkKind | "any"): void {
    const d = decodeHeader(data);
    if (!d.ok || (expected !== "any" && d.header.kind !== expected)) {
      this.stats_.dropped.malformed++;
      return;
    }
    const h = d.header;
    if (h.jobHash !== this.hash || h.attempt !== this.attempt) {
      this.stats_.dropped.foreign++;
      return;
    }
    if (h.worldSize !== this.worldSize) {
      this.fail(
        new ProtocolError(`rank ${h.rank} sends with world size ${h.worldSize}, expected ${this.worldSize}`, [
          h.rank,
        ]),
      );
      return;
    }
    if (h.rank === this.rank) return; // our own all-gather/broadcast, echoed on a shared connection
    this.lastHeard[h.rank] = performance.now();
    const family: Family = h.kind === ChunkKind.broadcast ? "broadcast" : "allreduce";
    const current = this.current.family[family];
    const p: PendingChunk = { header: h, data, elements: d.elements };
    if (h.step < current) {
      // An old step: a straggler of a completed (or failed) operation.
      this.stats_.dropped.stale++;
    } else if (h.step === current && this.op?.family === family && this.op.seq === h.step) {
      this.op.onChunk(p);
    } else if (h.step === current) {
      this.stats_.dropped.stale++; // the operation with this number already finished
    } else {
      // A faster peer is already on a later step: keep it until we get there.
      const key = `${family}:${h.step}`;
      let list = this.early.get(key);
      if (!list) this.early.set(key, (list = []));
      list.push(p);
    }
  }

  // ------------------------------------------------------------ reconnects

  private onDisconnect(server: string): void {
    this.connected = false;
    this.log.warn({ server, during: this.op?.label }, "NATS connection lost; reconnecting");
  }

  /**
   * Whatever was in flight around the outage may be gone, in both directions:
   * send ours again and ask the peers for theirs. A peer that reconnects
   * later asks again, and gets everything again then.
   */
  private onReconnect(server: string): void {
    this.connected = true;
    this.stats_.reconnects++;
    // The peers were unreachable through no fault of theirs: a fresh silence window.
    const now = performance.now();
    for (let r = 0; r < this.worldSize; r++) {
      if (!Number.isNaN(this.lastHeard[r]!)) this.lastHeard[r] = now;
    }
    for (const wake of this.reconnectWaiters.splice(0)) wake();
    if (this.failure || this.closed) return;
    const resent = this.replayFor(undefined);
    this.sendControl({ t: "resend" });
    this.log.warn(
      { server, during: this.op?.label, resent, operations: this.replay.labels() },
      "NATS reconnected; sent this rank's recent messages again and asked the peers for theirs",
    );
  }

  private onResendRequest(rank: number): void {
    if (this.failure || this.closed) return;
    const resent = this.replayFor(rank);
    this.log.info({ peer: rank, resent }, "peer reconnected; sent it this rank's recent messages again");
  }

  /**
   * Publishes again what `rank` may have missed: data chunks on its own
   * replay subject, control messages where they went. `rank` undefined: what
   * any rank may have missed, on the original subjects. Returns how many.
   */
  private replayFor(rank: number | undefined): number {
    // A peer still in rendezvous may have missed our one "ready" announcement.
    if (this.readyFrom.has(this.rank)) {
      this.sendControl({ t: "hello", worldSize: this.worldSize, instance: this.instance, ready: true });
    }
    const messages = this.replay.messagesFor(rank);
    for (const m of messages) {
      const toOne = rank !== undefined && m.subject !== this.subjects.control;
      this.publish(toOne ? this.subjects.replay(rank) : m.subject, m.data);
    }
    this.stats_.replayed += messages.length;
    return messages.length;
  }

  /**
   * Resolves once the server has everything published so far. A flush that a
   * disconnect cuts short waits for the reconnect (which publishes this
   * operation's messages again) and flushes again; it fails only when the
   * connection is closed for good.
   */
  private async flushedThroughReconnects(label: string): Promise<void> {
    for (;;) {
      const reconnects = this.stats_.reconnects;
      try {
        await this.nc.flush();
        return;
      } catch (e) {
        if (this.closed || this.nc.isClosed()) {
          throw new ConnectionClosedError(
            `${label}: flush failed: ${e instanceof Error ? e.message : String(e)}`,
          );
        }
        await this.reconnectedSince(reconnects);
      }
    }
  }

  private reconnectedSince(reconnects: number): Promise<void> {
    if (this.stats_.reconnects > reconnects || this.closed) return Promise.resolve();
    return new Promise((wake) => this.reconnectWaiters.push(wake));
  }

  // -------------------------------------------------------------- sending

  private controlBytes(body: ControlBody): Uint8Array {
    return encodeControl({
      ...body,
      job: this.jobId,
      attempt: this.attempt,
      rank: this.rank,
    } as ControlMessage);
  }

  /** Control messages that need no replay: repeated anyway (hello, heartbeat) or final (leave). */
  private sendControl(body: ControlBody): void {
    if (this.nc.isClosed()) return;
    this.publish(this.subjects.control, this.controlBytes(body));
  }

  /** A message of the operation in flight, kept for replay after a reconnect. */
  private send(subject: string, bytes: Uint8Array, to: number | undefined): void {
    this.replay.record({ subject, data: bytes, to });
    this.publish(subject, bytes);
  }

  private publish(subject: string, bytes: Uint8Array): void {
    this.nc.publish(subject, bytes);
    this.stats_.messagesOut++;
    this.stats_.bytesOut += bytes.byteLength;
  }

  private header(kind: ChunkKind, seq: number, c: Chunk, total: number): ChunkHeader {
    return {
      kind,
      jobHash: this.hash,
      attempt: this.attempt,
      step: seq,
      rank: this.rank,
      worldSize: this.worldSize,
      chunkIndex: c.index,
      chunkCount: c.count,
      offset: c.offset,
      total,
    };
  }

  // ----------------------------------------------------- operation control

  /** Throws if the communicator cannot run another operation. */
  private checkUsable(what: string): void {
    if (this.failure) throw this.failure;
    if (this.closed) throw new ConnectionClosedError(`${what}: collective is closed`);
    if (this.op) {
      throw new Error(
        `${what} while ${this.op.label} is in flight: collectives run one at a time, in the same order on every rank`,
      );
    }
    const [rank, l] = [...this.left.entries()][0] ?? [];
    if (rank !== undefined && l) {
      const err = new PeerLeftError(
        rank,
        l.reason,
        `before ${what}`,
        l.blame.filter((r) => r !== this.rank),
      );
      this.fail(err);
      throw err;
    }
  }

  /**
   * Runs `op` with the step deadline (and the optional silence check),
   * replays chunks that arrived early, and clears it when done.
   */
  private async run(op: ActiveOp, start: () => void): Promise<void> {
    this.op = op;
    this.replay.begin(op.label);
    if (op.family !== "barrier") {
      this.current.family[op.family] = op.seq;
      // Anything buffered for an older number can no longer be used.
      for (const key of [...this.early.keys()]) {
        const [fam, seq] = key.split(":");
        if (fam === op.family && Number(seq) < op.seq) {
          this.stats_.dropped.stale += this.early.get(key)?.length ?? 0;
          this.early.delete(key);
        }
      }
    }
    const started = performance.now();
    const deadline = setTimeout(() => {
      const w = op.waitingOn();
      this.fail(
        new StepTimeoutError(
          `${op.label} timed out after ${this.opts.stepTimeoutMs} ms on rank ${this.rank}: ` +
            `waiting for ${w.what} from ${formatRanks(w.ranks)}${this.heardSummary(w.ranks)}`,
          w.ranks,
          op.family === "barrier" ? op.label : op.seq,
        ),
      );
    }, this.opts.stepTimeoutMs);
    let silence: NodeJS.Timeout | undefined;
    const silenceMs = this.opts.peerSilenceTimeoutMs;
    if (silenceMs > 0) {
      silence = setInterval(
        () => {
          if (!this.connected) return;
          const now = performance.now();
          const silent = op
            .waitingOn()
            .ranks.filter(
              (r) => now - (Number.isNaN(this.lastHeard[r]!) ? started : this.lastHeard[r]!) > silenceMs,
            );
          if (silent.length > 0) {
            this.fail(
              new StepTimeoutError(
                `${op.label} on rank ${this.rank}: ${formatRanks(silent)} silent for more than ${silenceMs} ms${this.heardSummary(silent)}`,
                silent,
                op.family === "barrier" ? op.label : op.seq,
              ),
            );
          }
        },
        Math.max(10, Math.min(1000, silenceMs / 4)),
      );
    }
    try {
      start();
      if (op.family !== "barrier") {
        const key = `${op.family}:${op.seq}`;
        const pending = this.early.get(key);
        this.early.delete(key);
        for (const p of pending ?? []) {
          if (this.op !== op) break; // failed while replaying
          try {
            op.onChunk(p);
          } catch (e) {
            this.fail(e instanceof CollectiveError ? e : new ProtocolError(String(e)));
          }
        }
      }
      await op.done;
      if (op.everyRankBegins) this.replay.everyRankBeganNewest();
    } finally {
      clearTimeout(deadline);
      if (silence) clearInterval(silence);
      if (this.op === op) this.op = undefined;
    }
  }

  private heardSummary(ranks: number[]): string {
    const now = performance.now();
    const parts = ranks.map((r) => {
      const t = this.lastHeard[r]!;
      return Number.isNaN(t)
        ? `rank ${r} never heard`
        : `rank ${r} last heard ${((now - t) / 1000).toFixed(1)} s ago`;
    });
    return parts.length > 0 ? ` (${parts.join("; ")})` : "";
  }

  /** Poisons the communicator, fails whatever waits, and tells the peers. */
  private fail(err: CollectiveError): void {
    if (this.failure) return;
    this.failure = err;
    this.log.error({ err, missingRanks: err.missingRanks }, "collective failed");
    this.rendezvousWaiter?.reject(err);
    this.op?.reject(err);
    if (!(err instanceof ConnectionClosedError)) this.sendLeave(err.message, [...err.missingRanks]);
  }

  private sendLeave(reason: string, blame: number[]): void {
    if (this.leaveSent || this.nc.isClosed()) return;
    this.leaveSent = true;
    this.sendControl({ t: "leave", reason, blame });
  }

  // ------------------------------------------------------------ operations

  /**
   * Waits until every rank has called barrier(name) the same number of
   * times. Rejects with StepTimeoutError naming the ranks that did not arrive.
   */
  async barrier(name = "barrier"): Promise<void> {
    const gen = this.barrierGen.get(name) ?? 0;
    const label = `barrier "${name}" #${gen}`;
    this.checkUsable(label);
    this.barrierGen.set(name, gen + 1);
    const key = `${name}#${gen}`;
    let arrived = this.barrierArrivals.get(key);
    if (!arrived) this.barrierArrivals.set(key, (arrived = new Set()));
    arrived.add(this.rank);
    const set = arrived;
    const d = deferred();
    const check = (): void => {
      if (set.size === this.worldSize) d.resolve();
    };
    const op: ActiveOp = {
      label,
      family: "barrier",
      seq: gen,
      everyRankBegins: true,
      onChunk: () => undefined,
      recheck: check,
      waitingOn: () => ({ ranks: this.ranks().filter((r) => !set.has(r)), what: "barrier arrival" }),
      done: d.promise,
      resolve: d.resolve,
      reject: d.reject,
    };
    try {
      await this.run(op, () => {
        this.send(this.subjects.control, this.controlBytes({ t: "barrier", name, gen }), undefined);
        check();
      });
    } finally {
      this.barrierArrivals.delete(key);
      this.barrierDone.set(name, gen + 1);
    }
  }

  /**
   * Sends `root`'s buffer to every rank: on the root `buf` is read, elsewhere
   * it is overwritten (its length must match the root's). Returns `buf`.
   */
  async broadcast(buf: Float32Array, root = 0): Promise<Float32Array> {
    const seq = this.broadcastSeq;
    const label = `broadcast #${seq} from rank ${root}`;
    this.checkUsable(label);
    if (!Number.isInteger(root) || root < 0 || root >= this.worldSize)
      throw new RangeError(`bad root ${root}`);
    this.broadcastSeq++;
    const d = deferred();
    const whole = { start: 0, length: buf.length };
    const asm = new ChunkAssembler(buf, whole, this.chunkElements);
    const op: ActiveOp = {
      label,
      family: "broadcast",
      seq,
      everyRankBegins: false,
      onChunk: ({ header: h, data, elements }) => {
        if (h.rank !== root) {
          throw new ProtocolError(`${label}: rank ${h.rank} broadcasts too (ranks disagree on the root)`, [
            h.rank,
          ]);
        }
        if (h.total !== buf.length) {
          throw new ProtocolError(
            `${label}: root sends ${h.total} elements, rank ${this.rank} expects ${buf.length}`,
            [h.rank],
          );
        }
        const r = asm.accept(h.chunkIndex, h.chunkCount, h.offset, payloadFloats(data, elements));
        if (r === "mismatch")
          throw new ProtocolError(`${label}: unexpected chunk ${h.chunkIndex}/${h.chunkCount}`, [root]);
        if (r === "duplicate") this.stats_.dropped.duplicate++;
        if (asm.complete) d.resolve();
      },
      recheck: () => undefined,
      waitingOn: () => ({
        ranks: asm.complete ? [] : [root],
        what: `broadcast chunks (${asm.receivedChunks}/${asm.totalChunks} received)`,
      }),
      done: d.promise,
      resolve: d.resolve,
      reject: d.reject,
    };
    await this.run(op, () => {
      if (this.rank !== root) {
        if (asm.complete) d.resolve(); // empty buffer: nothing will come
        return;
      }
      for (const c of chunksOf(whole, this.chunkElements)) {
        this.send(
          this.subjects.broadcast,
          buildMessage(this.header(ChunkKind.broadcast, seq, c, buf.length), buf, c.offset, c.length),
          undefined,
        );
      }
      // The root is done once the server has the bytes; delivery to already
      // subscribed peers over TCP is then the server's job, and a peer that
      // lost them in a reconnect gets them again from the replay log.
      this.flushedThroughReconnects(label).then(d.resolve, d.reject);
    });
    return buf;
  }

  /**
   * Replaces `buf` (in place) with the element-wise mean of every rank's
   * `buf`, and returns it. `step` numbers the operation; it must increase from
   * call to call and be the same on every rank. All ranks end with
   * bit-identical results.
   */
  async allreduceMean(buf: Float32Array, step: number): Promise<Float32Array> {
    const label = `allreduce step ${step}`;
    this.checkUsable(label);
    if (!Number.isInteger(step) || step < 0 || step > 0xffffffff) throw new RangeError(`bad step ${step}`);
    if (step <= this.current.family.allreduce) {
      throw new RangeError(`${label}: steps must increase (last was ${this.current.family.allreduce})`);
    }
    const n = buf.length;
    const N = this.worldSize;
    const me = this.rank;
    const ce = this.chunkElements;
    const mine = chunksOf(sliceOf(n, N, me), ce);
    // Reduce-scatter bookkeeping for our slice: contributions per chunk and
    // rank (views over received messages, no copy), and per rank how many
    // chunks are still missing — what a timeout error reports.
    const contrib: (Float32Array | undefined)[][] = mine.map(() => new Array<Float32Array | undefined>(N));
    const have = new Array<number>(mine.length).fill(0);
    const rsPending = this.ranks().map((r) => (r === me ? 0 : mine.length));
    // All-gather bookkeeping: one assembler per owner, writing into buf.
    const gather = this.ranks().map((o) => new ChunkAssembler(buf, sliceOf(n, N, o), ce));
    const d = deferred();
    const checkDone = (): void => {
      if (gather.every((a) => a.complete)) d.resolve();
    };
    if (this.scratch.length < ce) this.scratch = new Float64Array(Math.min(ce, Math.max(n, 1)));

    const reduceChunk = (ci: number): void => {
      const c = mine[ci]!;
      const s = this.scratch;
      const len = c.length;
      const parts = contrib[ci]!;
      // Fixed order 0…N−1 in float64, one rounding to float32 at the end:
      // the same bits whichever order the chunks arrived in.
      for (let k = 0; k < N; k++) {
        const src = k === me ? buf.subarray(c.offset, c.offset + len) : parts[k]!;
        if (k === 0) for (let i = 0; i < len; i++) s[i] = src[i]!;
        else for (let i = 0; i < len; i++) s[i]! += src[i]!;
      }
      for (let i = 0; i < len; i++) buf[c.offset + i] = s[i]! / N;
      contrib[ci] = []; // release the received buffers
      if (N > 1) {
        this.send(
          this.subjects.allGather,
          buildMessage(this.header(ChunkKind.allGather, step, c, n), buf, c.offset, len),
          undefined,
        );
      }
      gather[me]!.mark(ci);
    };

    const op: ActiveOp = {
      label,
      family: "allreduce",
      seq: step,
      // Every peer sends us its copy of our slice, unless we own nothing.
      everyRankBegins: N === 1 || mine.length > 0,
      onChunk: ({ header: h, data, elements }) => {
        if (h.total !== n) {
          throw new ProtocolError(
            `${label}: rank ${h.rank} sends a buffer of ${h.total} elements, rank ${me} has ${n}`,
            [h.rank],
          );
        }
        if (h.kind === ChunkKind.reduceScatter) {
          const c = mine[h.chunkIndex];
          if (!c || c.count !== h.chunkCount || c.offset !== h.offset || c.length !== elements) {
            throw new ProtocolError(
              `${label}: rank ${h.rank} sent a chunk that is not part of rank ${me}'s slice`,
              [h.rank],
            );
          }
          const parts = contrib[h.chunkIndex]!;
          if (parts[h.rank] !== undefined || have[h.chunkIndex] === N - 1) {
            this.stats_.dropped.duplicate++;
            return;
          }
          parts[h.rank] = payloadFloats(data, elements);
          rsPending[h.rank]!--;
          if (++have[h.chunkIndex]! === N - 1) {
            reduceChunk(h.chunkIndex);
            checkDone();
          }
        } else {
          const r = gather[h.rank]!.accept(
            h.chunkIndex,
            h.chunkCount,
            h.offset,
            payloadFloats(data, elements),
          );
          if (r === "mismatch") {
            throw new ProtocolError(
              `${label}: rank ${h.rank} sent a reduced chunk that is not part of its slice`,
              [h.rank],
            );
          }
          if (r === "duplicate") this.stats_.dropped.duplicate++;
          else checkDone();
        }
      },
      recheck: () => undefined,
      waitingOn: () => {
        const rs = this.ranks().filter((r) => rsPending[r]! > 0);
        if (rs.length > 0) return { ranks: rs, what: `gradient chunks of rank ${me}'s slice` };
        return { ranks: this.ranks().filter((o) => !gather[o]!.complete), what: "reduced slices" };
      },
      done: d.promise,
      resolve: d.resolve,
      reject: d.reject,
    };

    await this.run(op, () => {
      // Our copy of every peer's slice, chunk by chunk round-robin over the
      // owners (starting after ourselves, so ranks do not all hit rank 0
      // first): every owner gets its first chunk early and starts reducing
      // and all-gathering while the rest is still in flight.
      const perOwner = this.ranks().map((o) => (o === me ? [] : chunksOf(sliceOf(n, N, o), ce)));
      const rounds = Math.max(0, ...perOwner.map((cs) => cs.length));
      for (let ci = 0; ci < rounds; ci++) {
        for (let k = 1; k < N; k++) {
          const owner = (me + k) % N;
          const c = perOwner[owner]![ci];
          if (!c) continue;
          this.send(
            this.subjects.reduceScatter(owner),
            buildMessage(this.header(ChunkKind.reduceScatter, step, c, n), buf, c.offset, c.length),
            owner,
          );
        }
      }
      // Chunks whose peers' copies are all here already (N = 1, or replayed
      // early arrivals come later through onChunk).
      for (let ci = 0; ci < mine.length; ci++) if (have[ci] === N - 1) reduceChunk(ci);
      checkDone();
    });
    return buf;
  }

  /**
   * Announces that this rank is leaving (so peers fail fast instead of
   * waiting out a deadline), unsubscribes and, when the Collective opened the
   * connection, closes it. Safe to call twice.
   */
  async close(reason = "closed"): Promise<void> {
    if (this.closed) return;
    if (this.op) this.fail(new ConnectionClosedError(`collective closed during ${this.op.label}`));
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.connectionWatch?.stop();
    for (const wake of this.reconnectWaiters.splice(0)) wake();
    this.rendezvousWaiter?.reject(new ConnectionClosedError("collective closed during rendezvous"));
    if (!this.nc.isClosed()) {
      this.sendLeave(reason, []);
      try {
        await Promise.race([this.nc.flush(), new Promise((r) => setTimeout(r, 1000).unref())]);
      } catch {
        // The connection is going away anyway.
      }
      for (const s of this.subs) s.unsubscribe();
      if (this.ownsConnection) await this.nc.close();
    }
    this.log.info(this.stats(), "collective closed");
  }
}
