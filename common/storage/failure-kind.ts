// Whether a storage failure can go away by itself. A training fails for good
// only on a "permanent" one (the object or bucket is not there, access is
// denied, the URI cannot be served); throttling, 5xx, timeouts and dropped
// connections are "transient" and keep the retry budget, and so does anything
// not recognised — failing a training for good on a guess would be worse than
// one more attempt.
import { NotFoundError, StorageError } from "./storage.js";
import { InvalidUriError } from "./uri.js";

export type FailureKind = "permanent" | "transient";

/** S3 error codes and errnos that no retry can fix. */
const PERMANENT_CODES = new Set([
  // S3 (and MinIO) error codes
  "NoSuchKey",
  "NoSuchBucket",
  "NotFound",
  "AccessDenied",
  "AllAccessDisabled",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidBucketName",
  "InvalidObjectState",
  // the file store's errnos
  "ENOENT",
  "ENOTDIR",
  "EISDIR",
  "EACCES",
  "EPERM",
]);

/** 4xx answers that say "later", not "never": credentials that expire and are renewed, clocks that drift. */
const TRANSIENT_CODES = new Set([
  "ExpiredToken",
  "TokenRefreshRequired",
  "RequestTimeTooSkewed",
  "RequestTimeout",
  "SlowDown",
  "Throttling",
  "IncompleteBody",
]);

/** HTTP statuses that mean "not now": timeout, conflict with a concurrent write, throttling. */
const TRANSIENT_STATUSES = new Set([408, 409, 425, 429]);

export function storageFailureKind(err: unknown): FailureKind {
  if (err instanceof NotFoundError || err instanceof InvalidUriError) return "permanent";
  if (!(err instanceof StorageError)) return "transient";
  const { code, status } = err;
  if (code !== undefined && TRANSIENT_CODES.has(code)) return "transient";
  if (code !== undefined && PERMANENT_CODES.has(code)) return "permanent";
  if (status !== undefined) {
    if (status >= 500 || TRANSIENT_STATUSES.has(status)) return "transient";
    return status >= 400 ? "permanent" : "transient";
  }
  // Neither a code nor a status: the store refused the URI or its options
  // before sending anything (a scheme it does not serve, a key ending in '/').
  return code === undefined ? "permanent" : "transient";
}
