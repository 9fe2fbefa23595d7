// The apiserver answers the controllers expect and carry on from: 404 Not
// Found (the object is not there: already deleted, or not created yet) and
// 409 Conflict (AlreadyExists on a create, or a stale resourceVersion on a
// write). Every other error is a real failure and propagates.
import * as k8s from "@kubernetes/client-node";

const NOT_FOUND = 404;
const CONFLICT = 409;

function hasStatus(err: unknown, code: number): boolean {
  return err instanceof k8s.ApiException && err.code === code;
}

export function isNotFound(err: unknown): boolean {
  return hasStatus(err, NOT_FOUND);
}

export function isConflict(err: unknown): boolean {
  return hasStatus(err, CONFLICT);
}

/**
 * For `.catch()` and `catch` blocks: a 404 becomes undefined, anything else
 * is rethrown. `await api.readX(...).catch(ignoreNotFound)` reads an object
 * that may be absent; on a delete it means "already gone".
 */
export function ignoreNotFound(err: unknown): undefined {
  if (!isNotFound(err)) throw err;
  return undefined;
}

/** Like ignoreNotFound for 409: a create that found the object already there. */
export function ignoreConflict(err: unknown): undefined {
  if (!isConflict(err)) throw err;
  return undefined;
}
