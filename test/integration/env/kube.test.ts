// The Kubernetes control plane of the test environment: a Deployment gets a
// ReplicaSet (controller-manager), its pods land on the kwok node (scheduler)
// and turn Running and Ready (kwok); TokenRequest works and RBAC is enforced
// for the token; deleting the namespace removes everything in it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, type V1Pod } from "@kubernetes/client-node";
import { ensureTestEnv } from "../../env/ensure.js";
import type { TestEnv } from "../../env/env-file.js";

const run = promisify(execFile);
const KWOK_NODE = "kwok-node-0";

async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    await sleep(250);
  }
  throw new Error(
    `timed out waiting for ${what}${last instanceof Error ? ` (last error: ${last.message})` : ""}`,
  );
}

function isReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
}

describe("test environment: Kubernetes", () => {
  const namespace = `env-test-${randomBytes(4).toString("hex")}`;
  let env: TestEnv;
  let kc: KubeConfig;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let namespaceCreated = false;

  before(async () => {
    env = await ensureTestEnv();
    kc = new KubeConfig();
    kc.loadFromFile(env.kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
  });

  after(async () => {
    if (!namespaceCreated) return;
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it("serves the pinned Kubernetes version over TLS on loopback", async () => {
    assert.match(kc.getCurrentCluster()?.server ?? "", /^https:\/\/127\.0\.0\.1:\d+$/);
    const { stdout } = await run(join(env.binDir ?? "", "kubectl"), [
      "--kubeconfig",
      env.kubeconfig,
      "version",
      "-o",
      "json",
    ]);
    const version: unknown = JSON.parse(stdout);
    assert.ok(typeof version === "object" && version !== null && "serverVersion" in version);
    assert.equal((version.serverVersion as { gitVersion?: string }).gitVersion, env.kubernetesVersion);
  });

  it("runs a Deployment's pods on the kwok node until they are Running and Ready", async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    namespaceCreated = true;
    const labels = { app: "env-test" };
    await apps.createNamespacedDeployment({
      namespace,
      body: {
        metadata: { name: "env-test", labels },
        spec: {
          replicas: 2,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: "app",
                  image: "registry.k8s.io/pause:3.10",
                  resources: { limits: { "nvidia.com/gpu": "1" } },
                },
              ],
            },
          },
        },
      },
    });

    const replicaSet = await eventually("a ReplicaSet owned by the Deployment", async () => {
      const list = await apps.listNamespacedReplicaSet({ namespace });
      return list.items.find((rs) =>
        rs.metadata?.ownerReferences?.some((o) => o.kind === "Deployment" && o.name === "env-test"),
      );
    });
    assert.equal(replicaSet.spec?.replicas, 2);

    const pods = await eventually("2 Running and Ready pods", async () => {
      const list = await core.listNamespacedPod({ namespace, labelSelector: "app=env-test" });
      const ready = list.items.filter((p) => p.status?.phase === "Running" && isReady(p));
      return ready.length === 2 ? ready : undefined;
    });
    for (const pod of pods) {
      assert.equal(pod.spec?.nodeName, KWOK_NODE);
      assert.ok(pod.status?.podIP, `pod ${pod.metadata?.name} has an IP`);
    }

    const deployment = await eventually("Deployment reporting 2 ready replicas", async () => {
      const d = await apps.readNamespacedDeployment({ name: "env-test", namespace });
      return d.status?.readyReplicas === 2 ? d : undefined;
    });
    assert.equal(deployment.status?.availableReplicas, 2);
  });

  it("completes pod deletion", async () => {
    const list = await core.listNamespacedPod({ namespace, labelSelector: "app=env-test" });
    const victim = list.items[0]?.metadata?.name;
    assert.ok(victim, "a pod to delete");
    await core.deleteNamespacedPod({ name: victim, namespace });
    await eventually(`pod ${victim} gone`, async () => {
      try {
        await core.readNamespacedPod({ name: victim, namespace });
        return undefined;
      } catch (err) {
        return err instanceof ApiException && err.code === 404 ? true : undefined;
      }
    });
    // The ReplicaSet replaces it.
    await eventually("2 Ready pods again", async () => {
      const again = await core.listNamespacedPod({ namespace, labelSelector: "app=env-test" });
      return again.items.filter(isReady).length === 2 ? true : undefined;
    });
  });

  it("issues ServiceAccount tokens (`kubectl create token`) that RBAC restricts", async () => {
    const { stdout } = await run(join(env.binDir ?? "", "kubectl"), [
      "--kubeconfig",
      env.kubeconfig,
      "-n",
      namespace,
      "create",
      "token",
      "default",
    ]);
    const token = stdout.trim();
    const [, payload] = token.split(".");
    assert.ok(payload, "token is a JWT");
    const claims: unknown = JSON.parse(Buffer.from(payload, "base64url").toString("utf8"));
    assert.ok(typeof claims === "object" && claims !== null && "sub" in claims);
    assert.equal(claims.sub, `system:serviceaccount:${namespace}:default`);

    const cluster = kc.getCurrentCluster();
    assert.ok(cluster);
    const asServiceAccount = new KubeConfig();
    asServiceAccount.loadFromOptions({
      clusters: [cluster],
      users: [{ name: "sa", token }],
      contexts: [{ name: "sa", cluster: cluster.name, user: "sa" }],
      currentContext: "sa",
    });
    const saCore = asServiceAccount.makeApiClient(CoreV1Api);
    // Authenticated (not 401) but not authorized (403): RBAC is in force.
    await assert.rejects(saCore.listNamespacedSecret({ namespace: "kube-system" }), (err: unknown) => {
      assert.ok(err instanceof ApiException, `ApiException, got ${String(err)}`);
      assert.equal(err.code, 403);
      return true;
    });
  });

  it("deletes the namespace with everything in it", async () => {
    await core.deleteNamespace({ name: namespace });
    await eventually(
      `namespace ${namespace} gone`,
      async () => {
        try {
          await core.readNamespace({ name: namespace });
          return undefined;
        } catch (err) {
          return err instanceof ApiException && err.code === 404 ? true : undefined;
        }
      },
      120_000,
    );
    namespaceCreated = false;
  });
});
