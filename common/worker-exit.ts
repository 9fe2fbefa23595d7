// How a training worker says that its failure is permanent — a missing or
// unreadable input, or a spec it cannot run — so that retrying cannot help.
// The worker exits with PERMANENT_FAILURE_EXIT_CODE after writing one line
// naming the field and the URI to its termination message file; the operator
// (from the pod's terminated state) and `stylekube train --local` (from the
// process's exit code and the file) then fail the training at once instead of
// spending its backoffLimit, as a Job's podFailurePolicy with a FailJob rule
// on an exit code does. Every other non-zero exit is retried.
import { readFileSync, writeFileSync } from "node:fs";

/**
 * 66 is EX_NOINPUT in sysexits.h ("an input file did not exist or was not
 * readable"); outside Node's own exit codes (1–14) and the shell's and
 * signals' (126 and up).
 */
export const PERMANENT_FAILURE_EXIT_CODE = 66;

/** Kubernetes' default terminationMessagePath; the worker pod sets it explicitly. */
export const POD_TERMINATION_MESSAGE_PATH = "/dev/termination-log";

/** The kubelet keeps at most this many bytes of a termination message. */
export const TERMINATION_MESSAGE_MAX_BYTES = 4096;

/** The message cut to what the kubelet keeps, on a character boundary. */
export function truncateTerminationMessage(message: string): string {
  const bytes = Buffer.from(message, "utf8");
  if (bytes.length <= TERMINATION_MESSAGE_MAX_BYTES) return message;
  const marker = " …";
  const room = TERMINATION_MESSAGE_MAX_BYTES - Buffer.byteLength(marker);
  // Decoding a cut multi-byte sequence yields U+FFFD: drop it.
  return (
    bytes
      .subarray(0, room)
      .toString("utf8")
      .replace(/\uFFFD+$/, "") + marker
  );
}

/**
 * Write why the worker stopped where the pod (or the local runner) reads it.
 * Best effort: a message that cannot be written must not hide the failure
 * itself, which the exit code and the log still carry.
 */
export function writeTerminationMessage(path: string | undefined, message: string): void {
  if (path === undefined || path === "") return;
  try {
    writeFileSync(path, truncateTerminationMessage(message));
  } catch {
    // Not writable (no such mount): the log line says the same.
  }
}

/** What a worker wrote with writeTerminationMessage, or undefined when nothing was written. */
export function readTerminationMessage(path: string): string | undefined {
  try {
    const text = readFileSync(path, "utf8").trim();
    return text === "" ? undefined : text;
  } catch {
    return undefined;
  }
}
