// `npm run bench -- controller [--quick]`: the operator under load. Creates
// 500 StyleTrainings (50 with --quick) of 2 workers each against the test
// apiserver, with the controller running as its own process under its RBAC
// identity, and reports p50/p99 time from create to all pods created and to
// status Running (kwok makes pods ready), plus the controller's peak RSS.
// Ends with one JSON line: {"bench":"controller",...}.
import { readFileSync } from "node:fs";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION } from "../common/api/index.js";
import { ensureTestEnv } from "../test/env/ensure.js";
import { REPO_ROOT } from "../test/env/env-file.js";
import { minimalStyleTraining } from "../test/fixtures/style-trainings.js";
import { serviceAccountKubeconfig, startControllerProcess } from "../test/support/controller-process.js";
import {
  adminKubeConfig,
  applyCrds,
  createNamespace,
  deleteNamespace,
  releaseWorkerPods,
} from "../test/support/kubernetes.js";
import { applyManifests } from "../test/support/manifests.js";
import { percentile } from "./support/percentile.js";
import { LABELS } from "../common/api/owned-objects.js";

const quick = process.argv.includes("--quick");
const COUNT = quick ? 50 : 500;
const WORKERS = 2;

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

async function benchNodes(core: k8s.CoreV1Api, n: number): Promise<string[]> {
  // Room for COUNT × WORKERS fake pods; kwok keeps these Ready.
  const resources = { cpu: "4000", memory: "16Ti", pods: String(Math.ceil((COUNT * WORKERS) / n) + 10) };
  const names: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `bench-node-${i}`;
    names.push(name);
    await core.deleteNode({ name }).catch(() => undefined);
    await core.createNode({
      body: {
        metadata: {
          name,
          annotations: { "kwok.x-k8s.io/node": "fake" },
          labels: { type: "kwok", "kubernetes.io/hostname": name },
        },
        status: { allocatable: resources, capacity: resources },
      },
    });
  }
  return names;
}

async function main(): Promise<void> {
  const env = await ensureTestEnv();
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await applyCrds(kc);
  await applyManifests(kc, [
    resolve(REPO_ROOT, "manifests/rbac/namespace.yaml"),
    resolve(REPO_ROOT, "manifests/rbac/controller.yaml"),
  ]);
  const nodes = await benchNodes(core, 2);
  const ns = await createNamespace(kc, "bench-controller");
  const sa = await serviceAccountKubeconfig(
    kc,
    "stylekube-system",
    "stylekube-controller",
    join(mkdtempSync(join(tmpdir(), "stylekube-bench-")), "kubeconfig"),
  );
  const controller = await startControllerProcess(sa, {
    STYLEKUBE_NATS_URL: env.natsUrl,
    STYLEKUBE_WATCH_NAMESPACE: ns,
    STYLEKUBE_LEADER_ELECT: "false",
    STYLEKUBE_LOG_LEVEL: "warn",
    // Compare settings with e.g. STYLEKUBE_RECONCILE_WORKERS=1 npm run bench -- controller
    STYLEKUBE_RECONCILE_WORKERS: process.env.STYLEKUBE_RECONCILE_WORKERS ?? "4",
  });

  const created = new Map<string, number>();
  const podsSeen = new Map<string, Set<string>>();
  const allPods = new Map<string, number>();
  const running = new Map<string, number>();
  const watch = new k8s.Watch(kc);
  const podWatch = await watch.watch(
    `/api/v1/namespaces/${ns}/pods`,
    {},
    (type: string, pod: k8s.V1Pod) => {
      const t = pod.metadata?.labels?.[LABELS.training];
      if (!t || type !== "ADDED") return;
      const set = podsSeen.get(t) ?? new Set<string>();
      set.add(pod.metadata!.name!);
      podsSeen.set(t, set);
      if (set.size === WORKERS && !allPods.has(t)) allPods.set(t, performance.now());
    },
    () => undefined,
  );
  const stWatch = await watch.watch(
    `/apis/${GROUP}/${VERSION}/namespaces/${ns}/styletrainings`,
    {},
    (_type: string, obj: { metadata: { name: string }; status?: { phase?: string } }) => {
      if (obj.status?.phase === "Running" && !running.has(obj.metadata.name))
        running.set(obj.metadata.name, performance.now());
    },
    () => undefined,
  );

  const start = performance.now();
  const names = Array.from({ length: COUNT }, (_, i) => `bench-${String(i).padStart(4, "0")}`);
  // Create with bounded concurrency, as a burst of `kubectl apply`s would.
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const body = minimalStyleTraining(name);
        body.spec = { ...body.spec, workers: WORKERS, resources: { gpu: 0, cpu: "1", memory: "1Gi" } };
        created.set(name, performance.now());
        await custom.createNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: "styletrainings",
          body,
        });
      }
    }),
  );
  const deadline = Date.now() + (quick ? 120_000 : 600_000);
  while (running.size < COUNT && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
  const wall = (performance.now() - start) / 1000;
  const rss = peakRssMiB(controller.child.pid!);

  podWatch.abort();
  stWatch.abort();
  await controller.stop();
  await releaseWorkerPods(kc, ns); // the stopped operator can no longer remove its tracking finalizers
  await deleteNamespace(kc, ns);
  for (const name of nodes) await core.deleteNode({ name }).catch(() => undefined);

  const toPods = names.filter((n) => allPods.has(n)).map((n) => allPods.get(n)! - created.get(n)!);
  const toRunning = names.filter((n) => running.has(n)).map((n) => running.get(n)! - created.get(n)!);
  const r = (x: number) => Math.round(x);
  const result = {
    bench: "controller",
    trainings: COUNT,
    workersEach: WORKERS,
    podsCreated: toPods.length,
    reachedRunning: toRunning.length,
    createToPodsMs: { p50: r(percentile(toPods, 50)), p99: r(percentile(toPods, 99)) },
    createToRunningMs: { p50: r(percentile(toRunning, 50)), p99: r(percentile(toRunning, 99)) },
    wallSeconds: Math.round(wall * 10) / 10,
    controllerPeakRssMiB: rss,
    reconcileWorkers: Number(process.env.STYLEKUBE_RECONCILE_WORKERS ?? 4),
  };
  console.log(
    `trainings: ${COUNT} × ${WORKERS} workers; all pods for ${toPods.length}, Running for ${toRunning.length} in ${result.wallSeconds} s`,
  );
  console.log(
    `create → all pods created: p50 ${result.createToPodsMs.p50} ms, p99 ${result.createToPodsMs.p99} ms`,
  );
  console.log(
    `create → status Running:   p50 ${result.createToRunningMs.p50} ms, p99 ${result.createToRunningMs.p99} ms`,
  );
  console.log(`controller peak RSS: ${rss} MiB`);
  console.log(JSON.stringify(result));
  if (toRunning.length < COUNT) process.exitCode = 1;
}

await main();
