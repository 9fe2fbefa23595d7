// Control-plane messages (small JSON on the attempt's control subject):
// rendezvous announcements, barrier arrivals, heartbeats, "leaving", and
// "send again" after a reconnect.
// Parsed with zod because anything may be published on a shared server.
import { z } from "zod";

const Base = z.object({ job: z.string(), attempt: z.number().int(), rank: z.number().int().min(0) });

export const ControlMessageSchema = z.discriminatedUnion("t", [
  Base.extend({
    t: z.literal("hello"),
    worldSize: z.number().int().min(1),
    /** Random per process: tells a restarted worker from a repeated announcement. */
    instance: z.string(),
    /** The sender has heard hello from every rank. */
    ready: z.boolean(),
  }),
  Base.extend({ t: z.literal("barrier"), name: z.string(), gen: z.number().int().min(0) }),
  Base.extend({ t: z.literal("hb") }),
  /** The sender reconnected and may have missed messages: every peer sends
   * again what it sent for the operations the sender may still need. */
  Base.extend({ t: z.literal("resend") }),
  Base.extend({
    t: z.literal("leave"),
    reason: z.string(),
    /** Ranks the leaver blames (the missing ranks of its own failure). */
    blame: z.array(z.number().int().min(0)).default([]),
  }),
]);
export type ControlMessage = z.infer<typeof ControlMessageSchema>;

/** Distributes Omit over the union so each variant keeps its own fields. */
type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
export type ControlBody = DistributiveOmit<ControlMessage, "job" | "attempt" | "rank">;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeControl(m: ControlMessage): Uint8Array {
  return encoder.encode(JSON.stringify(m));
}

export function decodeControl(data: Uint8Array): ControlMessage | undefined {
  try {
    const r = ControlMessageSchema.safeParse(JSON.parse(decoder.decode(data)));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}
