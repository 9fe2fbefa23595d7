// Options of the collectives, parsed with zod so a bad value fails at join
// with the option's name, and the NATS connection built from them. Worker env
// (common/worker-env.ts: STYLEKUBE_NATS_URL/_TOKEN/_USER/_PASSWORD/_CREDS_FILE)
// maps one-to-one onto NatsOptions.
import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, type ConnectionOptions, type NatsConnection } from "nats";
import { z } from "zod";

export const NatsOptionsSchema = z
  .object({
    /** nats://host:port, or several comma-separated for a cluster. */
    url: z.string().min(1),
    token: z.string().min(1).optional(),
    user: z.string().min(1).optional(),
    pass: z.string().optional(),
    /** A NATS .creds file (JWT + nkey seed), for operator-mode servers. */
    credsFile: z.string().min(1).optional(),
    /** Connection name shown by the server's monitoring (connz). */
    name: z.string().optional(),
    /** How long to wait for the TCP/TLS handshake, ms. */
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /** Pause between reconnect tries after the connection drops, ms. Short,
     * because every step of a synchronous gang waits for it; nats.js's own
     * default (2 s) would add up to 2 s to every NATS restart. */
    reconnectWaitMs: z.number().int().positive().default(500),
    /** Reconnect tries before the connection is given up (it then closes, and
     * the collective fails at once instead of at the step deadline). With the
     * default wait, about a minute of a server that refuses connections. */
    maxReconnectAttempts: z.number().int().positive().default(120),
  })
  .refine((o) => o.pass === undefined || o.user !== undefined, {
    message: "pass needs user",
    path: ["pass"],
  })
  .refine(
    (o) =>
      [o.token !== undefined, o.user !== undefined, o.credsFile !== undefined].filter(Boolean).length <= 1,
    {
      message: "give at most one of token, user/pass, credsFile",
      path: ["token"],
    },
  );
export type NatsOptions = z.input<typeof NatsOptionsSchema>;

/** The nats.js connection options for `opts`; exported so tests can check the
 * mapping without a server. Never logged: they carry the secrets. */
export function natsConnectionOptions(input: NatsOptions): ConnectionOptions {
  const o = NatsOptionsSchema.parse(input);
  const co: ConnectionOptions = {
    servers: o.url.split(",").map((s) => s.trim()),
    timeout: o.connectTimeoutMs,
    // Gradients are huge and latency-bound; the client's default 32 KiB
    // pending limit already flushes inline, nothing to tune. We do not want
    // echo of our own messages: we never subscribe to what we publish except
    // all-gather and control, where our own copy is harmless but wasteful.
    noEcho: true,
    reconnectTimeWait: o.reconnectWaitMs,
    maxReconnectAttempts: o.maxReconnectAttempts,
  };
  if (o.name !== undefined) co.name = o.name;
  if (o.token !== undefined) co.token = o.token;
  if (o.user !== undefined) {
    co.user = o.user;
    if (o.pass !== undefined) co.pass = o.pass;
  }
  if (o.credsFile !== undefined) {
    // Read at connect time (and on reconnect) so a rotated file is picked up.
    const file = o.credsFile;
    co.authenticator = credsAuthenticator(() => readFileSync(file));
  }
  return co;
}

export async function connectNats(input: NatsOptions): Promise<NatsConnection> {
  return connect(natsConnectionOptions(input));
}

export const DEFAULT_MAX_CHUNK_BYTES = 256 * 1024;

export const CollectiveOptionsSchema = z
  .object({
    /** The training's unique id (StyleTraining uid or local run id). */
    jobId: z.string().min(1),
    attempt: z.number().int().min(0).max(0xffffffff),
    rank: z.number().int().min(0),
    worldSize: z.number().int().min(1).max(0xffff),
    /** Deadline of one allreduce/broadcast/barrier, from the call. Must cover
     * the compute skew between the fastest and slowest worker. */
    stepTimeoutMs: z.number().int().positive().default(120_000),
    /** Deadline for all workers of the attempt to show up (pods scheduling,
     * image pulls). */
    rendezvousTimeoutMs: z.number().int().positive().default(300_000),
    /** How often rendezvous re-announces (core NATS drops what was published
     * before a late peer subscribed, so announcements repeat). */
    announceIntervalMs: z.number().int().positive().default(100),
    /** Heartbeat period after join: peers' "last heard" in error messages. 0 = off. */
    heartbeatMs: z.number().int().min(0).default(1_000),
    /** Fail an in-flight operation when a peer it waits on has been silent
     * (no heartbeat, no data) this long. 0 = off, the default: a worker
     * running a long synchronous compute step (the CPU engine) sends no
     * heartbeats either, so silence is not proof of death — the step
     * deadline is the backstop. */
    peerSilenceTimeoutMs: z.number().int().min(0).default(0),
    /** Cap on one message's size (the server's max_payload still applies).
     * Measured on loopback (bench/allreduce.ts): 256 KiB chunks beat 1 MiB
     * ones for 16 MB buffers — an owner can start reducing and forwarding
     * sooner, and each synchronous copy is short. */
    maxChunkBytes: z.number().int().min(64).default(DEFAULT_MAX_CHUNK_BYTES),
  })
  .refine((o) => o.rank < o.worldSize, { message: "rank must be less than worldSize", path: ["rank"] });
export type CollectiveOptions = z.input<typeof CollectiveOptionsSchema>;
export type ResolvedCollectiveOptions = z.output<typeof CollectiveOptionsSchema>;
