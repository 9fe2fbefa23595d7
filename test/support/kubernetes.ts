// Helpers for tests that talk to the real test apiserver.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { z } from "zod";
import { readTestEnv, REPO_ROOT } from "../env/env-file.js";
import { WORKER_FINALIZER } from "../../common/api/owned-objects.js";
import { explanation, type Explain } from "./timeout-explanation.js";

export function adminKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(readTestEnv().kubeconfig);
  return kc;
}

const StatusCauseSchema = z.object({
  field: z.string().optional(),
  message: z.string(),
  reason: z.string().optional(),
});
export const StatusSchema = z.object({
  kind: z.literal("Status"),
  code: z.number(),
  reason: z.string().optional(),
  message: z.string(),
  details: z.object({ causes: z.array(StatusCauseSchema).optional() }).optional(),
});
export type Status = z.infer<typeof StatusSchema>;

/** The metav1.Status of a failed call, or a rethrow when the error is something else. */
export function apiStatus(err: unknown): Status {
  if (err instanceof k8s.ApiException) {
    const body: unknown = typeof err.body === "string" ? JSON.parse(err.body) : err.body;
    return StatusSchema.parse(body);
  }
  throw err;
}

/** Create or replace the CRDs under manifests/crds/ and wait until they are Established. */
export async function applyCrds(kc: k8s.KubeConfig): Promise<void> {
  const dir = resolve(REPO_ROOT, "manifests/crds");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".yaml")))
    await applyCrdFile(kc, resolve(dir, file));
}

/** Creates or replaces the CustomResourceDefinition in one YAML file and waits until it is Established. */
export async function applyCrdFile(kc: k8s.KubeConfig, path: string): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  // Raw YAML keys (`default`, `enum`, `x-kubernetes-validations`) differ from
  // the client's model names (`_default`, …); its serializer drops unknown
  // ones, so turn YAML into the model first.
  const crd = k8s.loadYaml<k8s.V1CustomResourceDefinition>(readFileSync(path, "utf8"));
  const name = crd.metadata!.name!;
  try {
    const existing = await api.readCustomResourceDefinition({ name });
    crd.metadata!.resourceVersion = existing.metadata!.resourceVersion;
    await api.replaceCustomResourceDefinition({ name, body: crd });
  } catch (err) {
    if (err instanceof k8s.ApiException && err.code === 404)
      await api.createCustomResourceDefinition({ body: crd });
    else throw err;
  }
  await waitFor(`CRD ${name} Established`, async () => {
    const got = await api.readCustomResourceDefinition({ name });
    return got.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ?? false;
  });
}

/**
 * Polls `check` until true, at most `timeoutMs`; the timeout's error names
 * what it waited for, the check's last error and, with `explain` (e.g.
 * explainPods, test/support/pod-diagnosis.ts), why it did not happen.
 */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 60_000,
  explain?: Explain,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ""}${await explanation(explain)}`,
  );
}

/** A fresh namespace per test file, deleted afterwards. */
export async function createNamespace(kc: k8s.KubeConfig, prefix: string): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const ns = await core.createNamespace({ body: { metadata: { generateName: `${prefix}-` } } });
  return ns.metadata!.name!;
}

export async function deleteNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.deleteNamespace({ name }).catch(() => undefined);
}

/** Remove the operator's tracking finalizer from every pod in a namespace (cleanup after the operator stopped). */
export async function releaseWorkerPods(kc: k8s.KubeConfig, namespace: string): Promise<void> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const pods = await core.listNamespacedPod({ namespace }).catch(() => ({ items: [] as k8s.V1Pod[] }));
  await Promise.all(
    pods.items
      .filter((p) => p.metadata?.finalizers?.includes(WORKER_FINALIZER))
      .map((p) =>
        core
          .patchNamespacedPod(
            {
              name: p.metadata!.name!,
              namespace,
              body: { metadata: { "$deleteFromPrimitiveList/finalizers": [WORKER_FINALIZER] } },
            },
            k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.StrategicMergePatch),
          )
          .catch(() => undefined),
      ),
  );
}
