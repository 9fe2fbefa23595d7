// What a StyleServer owns: the owner reference on its Deployment, Service
// and HPA, and the one test of whether an object found under one of their
// names is its own. Only a controller reference with this StyleServer's uid
// counts: a label, a name or a reference from an earlier StyleServer of the
// same name does not, so the operator never takes over an object it did not
// create (and never deletes one when the StyleServer goes).
import type * as k8s from "@kubernetes/client-node";
import { API_VERSION, type StyleServer } from "../../common/api/index.js";

/** Makes the StyleServer the controlling owner: deleting it deletes what it owns (garbage collection). */
export function serverOwnerReference(server: StyleServer): k8s.V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: "StyleServer",
    name: server.metadata.name!,
    uid: server.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** An object that exists under a name the server needs, as the policies see it. */
export interface Occupant {
  /** Its uid: a delete is made conditional on it, so it removes exactly the object judged. */
  uid: string;
  /** Controlled by this StyleServer. */
  ours: boolean;
  /** Its controller (another object), if it has one. */
  controller?: { kind: string; name: string; uid: string };
}

/** Who holds a name the server needs; undefined for an absent object. */
export function occupantOf(
  obj: { metadata?: k8s.V1ObjectMeta } | undefined,
  serverUid: string,
): Occupant | undefined {
  if (!obj) return undefined;
  const ref = (obj.metadata?.ownerReferences ?? []).find((o) => o.controller === true);
  return {
    uid: obj.metadata?.uid ?? "",
    ours: ref !== undefined && ref.uid === serverUid,
    ...(ref ? { controller: { kind: ref.kind, name: ref.name, uid: ref.uid } } : {}),
  };
}
