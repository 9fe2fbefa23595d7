// NATS subjects of one attempt. The job id and attempt are subject tokens, so
// the server itself keeps attempts apart: a straggler of attempt k publishes
// where nobody of attempt k+1 is subscribed, and its bytes are never even
// delivered (the header check in collective.ts is the second line of defence).
import { jobToken, SUBJECT_ROOT } from "../../common/nats-subjects.js";

export { jobToken, SUBJECT_ROOT };

export interface AttemptSubjects {
  /** Control plane: hello/ready, barrier arrivals, heartbeats, leaving. JSON. */
  control: string;
  /** Reduce-scatter chunks addressed to `owner` (only the owner subscribes). */
  reduceScatter(owner: number): string;
  /** All-gather chunks: every owner's reduced slice, to everyone. */
  allGather: string;
  /** Broadcast chunks from the root, to everyone. */
  broadcast: string;
  /** Chunks of any kind sent again for `rank` alone, when it asks after a
   * reconnect (only that rank subscribes, so the answer costs no fan-out). */
  replay(rank: number): string;
}

export function attemptSubjects(jobId: string, attempt: number): AttemptSubjects {
  if (!Number.isInteger(attempt) || attempt < 0) throw new RangeError(`bad attempt ${attempt}`);
  const base = `${SUBJECT_ROOT}.${jobToken(jobId)}.${attempt}`;
  return {
    control: `${base}.ctl`,
    reduceScatter: (owner: number) => `${base}.rs.${owner}`,
    allGather: `${base}.ag`,
    broadcast: `${base}.bc`,
    replay: (rank: number) => `${base}.rp.${rank}`,
  };
}
