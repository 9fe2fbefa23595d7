// The common setup of operator integration tests: CRDs and the operator's
// RBAC applied, a fresh namespace, and `stylekube controller` running as its
// own process with the operator ServiceAccount's token (so the apiserver
// enforces its RBAC).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type * as k8s from "@kubernetes/client-node";
import { REPO_ROOT } from "../env/env-file.js";
import {
  serviceAccountKubeconfig,
  startControllerProcess,
  type ControllerProcess,
} from "./controller-process.js";
import {
  adminKubeConfig,
  applyCrds,
  createNamespace,
  deleteNamespace,
  releaseWorkerPods,
} from "./kubernetes.js";
import { applyManifests } from "./manifests.js";

export interface OperatorUnderTest {
  /** Admin access, for the test's own reads and writes. */
  kc: k8s.KubeConfig;
  namespace: string;
  /** Kubeconfig of the operator's ServiceAccount. */
  saKubeconfig: string;
  controller: ControllerProcess;
  /** Start another controller process with the same identity (failover tests). */
  startAnother(env: Record<string, string>): Promise<ControllerProcess>;
  /** Stop the controller and delete the namespace. */
  cleanup(): Promise<void>;
}

export async function setUpOperator(
  prefix: string,
  env: (namespace: string) => Record<string, string>,
): Promise<OperatorUnderTest> {
  const kc = adminKubeConfig();
  await applyCrds(kc);
  await applyManifests(kc, [
    resolve(REPO_ROOT, "manifests/rbac/namespace.yaml"),
    resolve(REPO_ROOT, "manifests/rbac/controller.yaml"),
  ]);
  const namespace = await createNamespace(kc, prefix);
  const saKubeconfig = await serviceAccountKubeconfig(
    kc,
    "stylekube-system",
    "stylekube-controller",
    join(mkdtempSync(join(tmpdir(), "stylekube-sa-")), "kubeconfig"),
  );
  const operator: OperatorUnderTest = {
    kc,
    namespace,
    saKubeconfig,
    controller: await startControllerProcess(saKubeconfig, env(namespace)),
    startAnother: (extra) => startControllerProcess(saKubeconfig, extra),
    cleanup: async () => {
      await operator.controller.stop();
      // Worker pods hold the operator's tracking finalizer, which only a
      // running operator removes: release them, or the namespace never goes.
      await releaseWorkerPods(kc, namespace);
      await deleteNamespace(kc, namespace);
    },
  };
  return operator;
}
