// NATS subject names shared by the workers (collectives, progress) and the
// operator (progress, per-job permissions), so they are spelled once.
import { createHash } from "node:crypto";

export const SUBJECT_ROOT = "stylekube";

/**
 * A job id as one subject token. Kubernetes uids ([0-9a-f-]) and local run ids
 * pass through unchanged (readable in `nats sub` output); anything with
 * characters that are special in subjects ('.', '*', '>', whitespace) or an
 * unreasonable length is replaced by a hash, so it can neither split into
 * several tokens nor act as a wildcard.
 */
export function jobToken(jobId: string): string {
  if (jobId.length === 0) throw new RangeError("job id must not be empty");
  if (/^[A-Za-z0-9_-]{1,64}$/.test(jobId)) return jobId;
  return "h" + createHash("sha256").update(jobId).digest("hex").slice(0, 32);
}

/** Every subject of one job's gradient traffic (all attempts): `stylekube.<job>.>`. */
export function jobSubjects(jobId: string): string {
  return `${SUBJECT_ROOT}.${jobToken(jobId)}.>`;
}

/** Progress of one training, which the operator folds into status. */
export function progressSubject(namespace: string, name: string): string {
  return `${SUBJECT_ROOT}.progress.${namespace}.${name}`;
}

export const ALL_PROGRESS = `${SUBJECT_ROOT}.progress.>`;
