// What the demo leaves in the cluster when it exits: nothing. Its StyleServer
// (and the Deployment and pods an operator makes for it) live in the demo's
// own namespace; deleting that namespace removes them all, so a later
// operator — an e2e run's, a user's — finds no leftover StyleServer to take
// over and no pod of the demo holding a node's CPU. The CRDs stay: they are
// the cluster's, shared with the tests.
import * as k8s from "@kubernetes/client-node";

export interface NamespaceDeletion {
  /** gone: deleted and no longer listed; absent: there was none; terminating: still being emptied at the deadline. */
  outcome: "gone" | "absent" | "terminating";
  seconds: number;
}

/**
 * Deletes `namespace` and waits (at most `timeoutMs`) until the apiserver no
 * longer has it. The namespace controller deletes what is inside; a
 * namespace still terminating at the deadline is reported, not an error.
 */
export async function deleteDemoNamespace(
  kc: k8s.KubeConfig,
  namespace: string,
  timeoutMs = 60_000,
): Promise<NamespaceDeletion> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const start = performance.now();
  const seconds = () => (performance.now() - start) / 1000;
  try {
    await core.deleteNamespace({ name: namespace, propagationPolicy: "Background" });
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404) return { outcome: "absent", seconds: seconds() };
    throw err;
  }
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const gone = await core.readNamespace({ name: namespace }).then(
      () => false,
      (err: unknown) => err instanceof k8s.ApiException && err.code === 404,
    );
    if (gone) return { outcome: "gone", seconds: seconds() };
    await new Promise((r) => setTimeout(r, 500));
  }
  return { outcome: "terminating", seconds: seconds() };
}
