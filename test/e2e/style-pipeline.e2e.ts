// The user's path on real pods, each step asserted:
//  1. the operator runs as a pod from its image, with the chart's ServiceAccount,
//     as uid 65532 on a read-only root filesystem;
//  2. `kubectl apply` of a StyleTraining (2 workers, 32 px, the onnxruntime
//     engine, pretrained VGG-16 from `stylekube weights pull vgg16`, The
//     Starry Night) gives two worker pods from the trainer image that average
//     gradients over NATS and checkpoint to S3;
//  3. one worker's container is killed (SIGKILL from outside, like the OOM
//     killer): the gang restarts as attempt 2 from the last checkpoint and
//     finishes; the model is exported;
//  4. a StyleServer's Deployment runs server pods that become Ready, and a
//     photo POSTed through its Service (kubectl port-forward svc/…) comes
//     back stylised;
//  5. `kubectl scale styleserver … --replicas=2` gives two Ready pods;
//  6. the dashboard shows the training and the server (screenshot).
// Context (cluster, images, NATS, S3): context.ts; run with `npm run test:e2e`.
import assert from "node:assert/strict";
import { execSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import { parseAllDocuments, stringify } from "yaml";
import { createLogger } from "../../common/log/logger.js";
import { mulberry32 } from "../../common/mulberry32.js";
import { openStore, type ObjectStore } from "../../common/storage/index.js";
import { pullVgg16Weights } from "../../demo/vgg16-weights.js";
import { packDataset } from "../../trainer/data/pack.js";
import { REPO_ROOT } from "../env/env-file.js";
import { describePods, type DiagnosedEvent } from "../support/pod-diagnosis.js";
import { readE2eContext } from "./context.js";
import { kubectl } from "./kubectl.js";
import { explanation, until } from "./until.js";

const ctx = readE2eContext();
const k = kubectl(ctx);
const NS = ctx.namespace;
const OPERATOR_NS = "stylekube-system";
/** The S3 keys of the operator itself (dashboard previews), in OPERATOR_NS. */
const OPERATOR_S3_SECRET = "stylekube-operator-s3";
const TRAINING = "e2e-mosaic";
const SERVER = "e2e";
const STYLE = "mosaic";
const IMAGE_SIZE = 32;
const ITERATIONS = 60;
const CHECKPOINT_EVERY = 10;
const PREFIX = `s3://${ctx.s3.bucket}/e2e-${Date.now().toString(36)}`;

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    containers: { name: string; image: string }[];
  };
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { name: string; image: string; containerID?: string; ready: boolean }[];
  };
}
interface Training {
  status?: {
    phase?: string;
    attempt?: number;
    restarts?: number;
    lastCheckpoint?: { uri: string; step: number };
    progress?: { step: number };
    modelURI?: string;
  };
}

async function listAll(store: ObjectStore, prefix: string): Promise<string[]> {
  const uris: string[] = [];
  for await (const entry of store.list(prefix)) uris.push(entry.uri);
  return uris;
}

const podReady = (p: Pod): boolean =>
  p.status.phase === "Running" &&
  (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");

async function pods(namespace: string, selector: string): Promise<Pod[]> {
  return (await k.json<{ items: Pod[] }>(["-n", namespace, "get", "pods", "-l", selector])).items;
}

/** For a wait on pods that timed out: their phases, scheduling, containers and events. */
function explainPods(namespace: string, selector: string): () => Promise<string> {
  return async () => {
    const events = await k.json<{ items: DiagnosedEvent[] }>(["-n", namespace, "get", "events"]);
    return describePods(`${selector} in ${namespace}`, await pods(namespace, selector), events.items);
  };
}

/** `kubectl rollout status`, whose failure says why the Deployment's pods are not Ready. */
async function rolloutStatus(namespace: string, deployment: string, selector: string, seconds: number) {
  try {
    await k.run(["-n", namespace, "rollout", "status", `deployment/${deployment}`, `--timeout=${seconds}s`], {
      timeoutMs: (seconds + 20) * 1000,
    });
  } catch (err) {
    const why = await explanation(explainPods(namespace, selector));
    throw new Error(`${err instanceof Error ? err.message : String(err)}${why}`, { cause: err });
  }
}

async function training(): Promise<Training> {
  return k.json<Training>(["-n", NS, "get", "styletraining", TRAINING]);
}

/** uid 65532 (the chart's securityContext) and a read-only root filesystem, checked inside the running container. */
async function assertHardened(namespace: string, pod: Pod): Promise<void> {
  const name = pod.metadata.name;
  const uid = (await k.run(["-n", namespace, "exec", name, "--", "id", "-u"])).trim();
  assert.equal(uid, "65532", `${name} runs as uid 65532`);
  const write = await k
    .run(["-n", namespace, "exec", name, "--", "sh", "-c", "touch /app/e2e-probe 2>&1 || true"])
    .catch((err: Error) => err.message);
  assert.match(write, /Read-only file system/, `${name}: the root filesystem is read-only`);
  const tmp = await k.run([
    "-n",
    namespace,
    "exec",
    name,
    "--",
    "sh",
    "-c",
    "touch /tmp/e2e-probe && echo ok",
  ]);
  assert.equal(tmp.trim(), "ok", `${name}: /tmp is writable`);
  if (ctx.nodeName) assert.equal(pod.spec.nodeName, ctx.nodeName, `${name} runs on ${ctx.nodeName}`);
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef: { name: string; key: string } };
}
interface ManifestDoc {
  kind?: string;
  metadata?: { name?: string };
}
interface DeploymentDoc extends ManifestDoc {
  spec: {
    template: {
      spec: {
        hostNetwork?: boolean;
        dnsPolicy?: string;
        containers: {
          image: string;
          env: EnvVar[];
          ports?: { name: string; containerPort: number; protocol: string }[];
        }[];
      };
    };
  };
}

/** The operator's objects from manifests/install.yaml, adapted to this cluster (context.operator). */
function installManifests(): string {
  const docs = parseAllDocuments(readFileSync(resolve(REPO_ROOT, "manifests/install.yaml"), "utf8"))
    .map((d) => d.toJSON() as ManifestDoc | null)
    .filter((d): d is ManifestDoc => d !== null);
  const deployment = docs.find(
    (d) => d.kind === "Deployment" && d.metadata?.name === "stylekube-controller",
  ) as DeploymentDoc | undefined;
  assert.ok(deployment, "manifests/install.yaml has the operator's Deployment");
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0]!;
  container.image = ctx.images.controller;
  const env: Record<string, string> = {
    STYLEKUBE_TRAINER_IMAGE: ctx.images.trainer,
    STYLEKUBE_SERVER_IMAGE: ctx.images.server,
    STYLEKUBE_NATS_URL: ctx.natsUrl,
    STYLEKUBE_S3_ENDPOINT: ctx.s3.endpoint,
    STYLEKUBE_S3_REGION: ctx.s3.region,
    STYLEKUBE_S3_FORCE_PATH_STYLE: "true",
    STYLEKUBE_STORAGE_SECRET: "stylekube-s3",
    STYLEKUBE_STATUS_INTERVAL_MS: "1000",
    // Only what this test owns: a StyleServer or StyleTraining left in another
    // namespace (a demo's, a user's) must not get pods on this cluster's
    // nodes while the test needs their CPUs.
    STYLEKUBE_WATCH_NAMESPACE: NS,
  };
  const op = ctx.operator;
  if (op.hostNetwork) {
    // Pods on the real node cannot reach an apiserver on 127.0.0.1 (no
    // kube-proxy): the operator shares the node's network and is pointed at
    // the apiserver directly; it listens on the node's address, not 0.0.0.0.
    pod.hostNetwork = true;
    // The restricted Pod Security level install.yaml puts on its namespace forbids host networking.
    const ns = docs.find((d) => d.kind === "Namespace") as
      (ManifestDoc & { metadata: { labels: Record<string, string> } }) | undefined;
    if (ns) ns.metadata.labels["pod-security.kubernetes.io/enforce"] = "privileged";
    pod.dnsPolicy = "ClusterFirstWithHostNet";
    if (op.httpHost) env.STYLEKUBE_HTTP_HOST = op.httpHost;
    if (op.httpPort) {
      env.STYLEKUBE_HTTP_PORT = String(op.httpPort);
      container.ports = [{ name: "http", containerPort: op.httpPort, protocol: "TCP" }];
    }
    if (op.apiserver) {
      env.KUBERNETES_SERVICE_HOST = op.apiserver.host;
      env.KUBERNETES_SERVICE_PORT = String(op.apiserver.port);
    }
  }
  // The operator's own S3 keys (the dashboard reads previews with them), from
  // a Secret in its namespace: what a user does with the chart's
  // controller.extraEnv when the operator has no cloud identity (MinIO).
  const fromSecret: EnvVar[] = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"].map((key) => ({
    name: key,
    valueFrom: { secretKeyRef: { name: OPERATOR_S3_SECRET, key } },
  }));
  const replaced = new Set([...Object.keys(env), ...fromSecret.map((e) => e.name)]);
  const kept = container.env.filter((e) => !replaced.has(e.name));
  container.env = [...kept, ...Object.entries(env).map(([name, value]) => ({ name, value })), ...fromSecret];
  return docs.map((d) => stringify(d)).join("---\n");
}

/** Deterministic "photos": smooth gradients with a few discs, as PNG files. */
async function writePhotos(dir: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const rand = mulberry32(1000 + i);
    const size = 96;
    const px = Buffer.alloc(size * size * 3);
    const [a, b, c] = [rand() * 255, rand() * 255, rand() * 255];
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const o = (y * size + x) * 3;
        px[o] = (a + x * 2) % 256;
        px[o + 1] = (b + y * 2) % 256;
        px[o + 2] = (c + x + y) % 256;
      }
    const discs = Array.from(
      { length: 4 },
      () =>
        `<circle cx="${rand() * size}" cy="${rand() * size}" r="${6 + rand() * 18}" fill="rgb(${Math.round(rand() * 255)},${Math.round(rand() * 255)},${Math.round(rand() * 255)})"/>`,
    ).join("");
    const svg = Buffer.from(
      `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">${discs}</svg>`,
    );
    await sharp(px, { raw: { width: size, height: size, channels: 3 } })
      .composite([{ input: svg }])
      .png()
      .toFile(join(dir, `photo-${String(i).padStart(2, "0")}.png`));
  }
}

/** The steps build on each other: once one fails, the later ones fail at once, naming it. */
let failedStep: string | undefined;
function step(name: string, fn: () => Promise<void>): void {
  it(name, async () => {
    assert.equal(failedStep, undefined, `an earlier step failed: ${failedStep}`);
    try {
      await fn();
    } catch (err) {
      failedStep = name;
      throw err;
    }
  });
}

describe("end to end on real pods: operator, training with a killed worker, export, serving, scaling, dashboard", () => {
  let store: ObjectStore;
  const work = mkdtempSync(join(tmpdir(), "stylekube-e2e-"));
  const stops: (() => void)[] = [];
  let modelURI = "";

  before(async () => {
    mkdirSync(ctx.artifactsDir, { recursive: true });
    for (const node of ctx.cordon) await k.run(["cordon", node]);
    store = openStore({
      s3: {
        endpoint: ctx.s3.hostEndpoint,
        region: ctx.s3.region,
        accessKeyId: ctx.s3.accessKeyId,
        secretAccessKey: ctx.s3.secretAccessKey,
        forcePathStyle: true,
      },
    });
  });

  after(async () => {
    for (const stop of stops) stop();
    // Leave the cluster as it was: the test's namespace, the operator, the cordons.
    await k
      .run(["delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=120s"], {
        timeoutMs: 150_000,
      })
      .catch(() => {});
    await k
      .run(
        [
          "-n",
          OPERATOR_NS,
          "delete",
          "deployment",
          "stylekube-controller",
          "--ignore-not-found",
          "--wait=true",
        ],
        { timeoutMs: 90_000 },
      )
      .catch(() => {});
    await k
      .run(["-n", OPERATOR_NS, "delete", "secret", OPERATOR_S3_SECRET, "--ignore-not-found"])
      .catch(() => {});
    for (const node of ctx.cordon) await k.run(["uncordon", node]).catch(() => {});
    rmSync(work, { recursive: true, force: true });
  });

  step(
    "the operator runs as a pod from its image with its chart's ServiceAccount, uid 65532, read-only root",
    async () => {
      const manifests = installManifests();
      await k.run(["apply", "-f", "-"], {
        input: [
          { apiVersion: "v1", kind: "Namespace", metadata: { name: OPERATOR_NS } },
          {
            apiVersion: "v1",
            kind: "Secret",
            metadata: { name: OPERATOR_S3_SECRET, namespace: OPERATOR_NS },
            type: "Opaque",
            stringData: {
              AWS_ACCESS_KEY_ID: ctx.s3.accessKeyId,
              AWS_SECRET_ACCESS_KEY: ctx.s3.secretAccessKey,
            },
          },
        ]
          .map((d) => stringify(d))
          .join("---\n"),
      });
      await k.run(["apply", "--server-side", "--force-conflicts", "-f", "-"], { input: manifests });
      await rolloutStatus(OPERATOR_NS, "stylekube-controller", "app.kubernetes.io/component=controller", 180);
      const [pod] = await pods(OPERATOR_NS, "app.kubernetes.io/component=controller");
      assert.ok(pod && podReady(pod), "the operator pod is Running and Ready");
      assert.equal(pod.spec.serviceAccountName, "stylekube-controller");
      assert.equal(pod.spec.containers[0]!.image, ctx.images.controller);
      await assertHardened(OPERATOR_NS, pod);
    },
  );

  step(
    "kubectl apply of a StyleTraining: two worker pods from the trainer image average gradients over NATS and checkpoint to S3",
    async () => {
      // Data: 8 photos packed at 32 px, a generated style image.
      const photos = join(work, "photos");
      execSync(`mkdir -p ${photos}`);
      await writePhotos(photos, 8);
      const packed = await packDataset(store, photos, `${PREFIX}/photos/`, {
        size: IMAGE_SIZE,
        shardSize: 4,
        logger: createLogger("dataset-pack", "warn"),
      });
      assert.equal(packed.index.samples, 8);
      // One photo the network never trains on, where spec.previews looks by
      // default (held-out/ beside the dataset): rank 0 stylises it at every
      // checkpoint for the dashboard's slider.
      const heldOutDir = join(work, "held-out");
      mkdirSync(heldOutDir);
      await writePhotos(heldOutDir, 9);
      await store.put(
        `${PREFIX}/photos/held-out/photo-08.png`,
        readFileSync(join(heldOutDir, "photo-08.png")),
        {
          contentType: "image/png",
        },
      );
      // The demo's painting (public domain, demo/styles/README.md), small: the
      // workers read it at this size for the style targets.
      const style = await sharp(resolve(REPO_ROOT, "demo/styles/starry_night.jpg"))
        .resize(128, 128, { fit: "inside" })
        .jpeg({ quality: 92 })
        .toBuffer();
      await store.put(`${PREFIX}/style.jpg`, style, { contentType: "image/jpeg" });
      const weights = `${PREFIX}/vgg16-relu4_3.safetensors`;
      // Pretrained VGG-16 through the CLI's weights contract, as the demo takes
      // it; the e2e trains with the real loss network, so a failed pull fails it.
      const pulled = await pullVgg16Weights(["--import", "tsx", resolve(REPO_ROOT, "cli/main.ts")], {
        cwd: REPO_ROOT,
        onLine: (line) => process.stderr.write(`${line}\n`),
      });
      assert.ok(pulled.ok, pulled.ok ? "" : pulled.reason);
      await store.put(weights, readFileSync(pulled.path), { contentType: "application/octet-stream" });

      await k.run(["create", "namespace", NS]);
      await k.run([
        "-n",
        NS,
        "create",
        "secret",
        "generic",
        "stylekube-s3",
        `--from-literal=AWS_ACCESS_KEY_ID=${ctx.s3.accessKeyId}`,
        `--from-literal=AWS_SECRET_ACCESS_KEY=${ctx.s3.secretAccessKey}`,
      ]);
      const spec = {
        apiVersion: "stylekube.io/v1alpha1",
        kind: "StyleTraining",
        metadata: { name: TRAINING, namespace: NS },
        spec: {
          style: `${PREFIX}/style.jpg`,
          dataset: `${PREFIX}/photos/`,
          output: `${PREFIX}/models/${TRAINING}/`,
          workers: 2,
          engine: "onnxruntime",
          resources: { gpu: 0, cpu: "500m", memory: "1536Mi" },
          hyperparameters: { imageSize: IMAGE_SIZE, batchSize: 1, iterations: ITERATIONS },
          lossNetwork: { weights },
          checkpoint: { everySteps: CHECKPOINT_EVERY, keep: 2 },
          backoffLimit: 2,
          storage: { secretName: "stylekube-s3" },
        },
      };
      const specFile = join(work, "styletraining.yaml");
      writeFileSync(specFile, stringify(spec));
      await k.run(["apply", "-f", specFile]);

      const workers = await until(
        "two Ready worker pods of attempt 1",
        300_000,
        async () => {
          const ps = await pods(NS, `stylekube.io/training=${TRAINING}`);
          const ready = ps.filter((p) => p.metadata.name.startsWith(`${TRAINING}-a1-`) && podReady(p));
          return ready.length === 2 ? ready : undefined;
        },
        { explain: explainPods(NS, `stylekube.io/training=${TRAINING}`) },
      );
      for (const w of workers) {
        assert.equal(w.spec.containers[0]!.image, ctx.images.trainer);
        await assertHardened(NS, w);
      }
      // Gradients over NATS: both workers' pod IPs hold client connections
      // (a worker connects once its engine and data are loaded, after Ready).
      if (ctx.natsMonitorUrl) {
        const ips = new Set(workers.map((w) => w.status.podIP));
        await until("NATS connections from both worker pods", 180_000, async () => {
          const connz = (await (await fetch(`${ctx.natsMonitorUrl}/connz?limit=1024`)).json()) as {
            connections?: { ip: string }[];
          };
          const from = new Set((connz.connections ?? []).map((c) => c.ip).filter((ip) => ips.has(ip)));
          return from.size === 2 ? true : undefined;
        });
      }
      const checkpoint = await until("a checkpoint in S3", 600_000, async () => {
        const t = await training();
        const cp = t.status?.lastCheckpoint;
        return cp && cp.step >= CHECKPOINT_EVERY ? cp : undefined;
      });
      const objects = await listAll(store, checkpoint.uri);
      assert.ok(objects.length > 0, `objects under ${checkpoint.uri}`);
    },
  );

  step(
    "a worker killed mid-training: the gang restarts as attempt 2 from the last checkpoint and finishes; the model is exported",
    async () => {
      const before = await training();
      assert.equal(before.status?.attempt, 1);
      assert.ok(
        (before.status?.progress?.step ?? 0) < ITERATIONS,
        "still training when the worker is killed",
      );
      const [victim] = await pods(NS, `stylekube.io/training=${TRAINING}`).then((ps) =>
        ps.filter((p) => p.metadata.name === `${TRAINING}-a1-w1`),
      );
      const containerID = victim?.status.containerStatuses?.[0]?.containerID?.replace(/^\w+:\/\//, "");
      assert.ok(containerID, "the victim's container ID");
      execSync(ctx.killCommand.replace("{containerID}", containerID), { stdio: "inherit", timeout: 30_000 });

      const restarted = await until(
        "attempt 2 with restarts 1",
        180_000,
        async () => {
          const t = await training();
          return t.status?.attempt === 2 && t.status.restarts === 1 ? t : undefined;
        },
        { explain: explainPods(NS, `stylekube.io/training=${TRAINING}`) },
      );
      const resumeFrom = restarted.status?.lastCheckpoint?.step ?? 0;
      assert.ok(resumeFrom >= CHECKPOINT_EVERY, "a checkpoint to resume from");
      await until(
        "two Ready worker pods of attempt 2",
        300_000,
        async () => {
          const ps = await pods(NS, `stylekube.io/training=${TRAINING}`);
          const ready = ps.filter((p) => p.metadata.name.startsWith(`${TRAINING}-a2-`) && podReady(p));
          return ready.length === 2 ? ready : undefined;
        },
        { explain: explainPods(NS, `stylekube.io/training=${TRAINING}`) },
      );
      const done = await until("Succeeded", 900_000, async () => {
        const t = await training();
        if (t.status?.phase === "Failed") throw new Error(`training failed: ${JSON.stringify(t.status)}`);
        return t.status?.phase === "Succeeded" ? t : undefined;
      });
      const logs = await k.run(["-n", NS, "logs", `${TRAINING}-a2-w0`]);
      const resumed = logs
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg?: string; step?: number })
        .find((l) => l.msg === "resumed from checkpoint");
      assert.ok(resumed, "attempt 2's rank 0 logged its resume");
      assert.ok((resumed.step ?? 0) >= CHECKPOINT_EVERY, `resumed at step ${resumed.step}, not from scratch`);
      modelURI = done.status?.modelURI ?? "";
      assert.match(modelURI, /^s3:\/\//);
      const model = await listAll(store, modelURI);
      assert.ok(
        model.some((uri) => uri.endsWith("model.json")),
        `model.json under ${modelURI}: ${model.join(", ")}`,
      );
    },
  );

  step(
    "a StyleServer: Ready pods from the serving image; a photo POSTed through its Service comes back stylised",
    async () => {
      const server = {
        apiVersion: "stylekube.io/v1alpha1",
        kind: "StyleServer",
        metadata: { name: SERVER, namespace: NS },
        spec: {
          replicas: 1,
          engine: "onnxruntime",
          resources: { gpu: 0, cpu: "250m", memory: "1Gi" },
          styles: { [STYLE]: { modelURI } },
          storage: { secretName: "stylekube-s3" },
        },
      };
      await k.run(["apply", "-f", "-"], { input: stringify(server) });
      await rolloutStatus(NS, `${SERVER}-server`, `stylekube.io/server=${SERVER}`, 300);
      const [pod] = (await pods(NS, `stylekube.io/server=${SERVER}`)).filter(podReady);
      assert.ok(pod, "a Ready server pod");
      assert.equal(pod.spec.containers[0]!.image, ctx.images.server);
      await assertHardened(NS, pod);

      const forward = await k.portForward(`svc/${SERVER}-server`, NS, 80);
      stops.push(forward.stop);
      const photo = await sharp(join(work, "photos/photo-05.png"))
        .resize(64, 64)
        .jpeg({ quality: 92 })
        .toBuffer();
      const res = await fetch(`http://127.0.0.1:${forward.port}/v1/styles/${STYLE}:stylize`, {
        method: "POST",
        headers: { "content-type": "image/jpeg", accept: "image/jpeg" },
        body: photo,
      });
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(res.status, 200, body.toString());
      const meta = await sharp(body).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 64, 64]);
      const [a, b] = await Promise.all([sharp(photo).raw().toBuffer(), sharp(body).raw().toBuffer()]);
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff += Math.abs(a[i]! - b[i]!);
      assert.ok(
        diff / a.length > 5,
        `the image changed (mean abs difference ${(diff / a.length).toFixed(1)})`,
      );
      writeFileSync(join(ctx.artifactsDir, "stylised.jpg"), body);
      forward.stop();
    },
  );

  step("kubectl scale styleserver --replicas=2 gives two Ready server pods", async () => {
    await k.run(["-n", NS, "scale", "styleserver", SERVER, "--replicas=2"]);
    await until(
      "two Ready server pods",
      300_000,
      async () => {
        const ready = (await pods(NS, `stylekube.io/server=${SERVER}`)).filter(podReady);
        return ready.length === 2 ? ready : undefined;
      },
      { explain: explainPods(NS, `stylekube.io/server=${SERVER}`) },
    );
    const ssv = await k.json<{ status?: { readyReplicas?: number } }>([
      "-n",
      NS,
      "get",
      "styleserver",
      SERVER,
    ]);
    await until("StyleServer status.readyReplicas 2", 60_000, async () => {
      const s = await k.json<{ status?: { readyReplicas?: number } }>([
        "-n",
        NS,
        "get",
        "styleserver",
        SERVER,
      ]);
      return s.status?.readyReplicas === 2 ? true : undefined;
    });
    assert.ok(ssv.status !== undefined);
  });

  step("the dashboard shows the training and the server", async () => {
    let base: string;
    if (ctx.operator.hostNetwork && ctx.operator.httpHost && ctx.operator.httpPort) {
      base = `http://${ctx.operator.httpHost}:${ctx.operator.httpPort}`;
    } else {
      const forward = await k.portForward("deployment/stylekube-controller", OPERATOR_NS, 8080);
      stops.push(forward.stop);
      base = `http://127.0.0.1:${forward.port}`;
    }
    const { chromium } = await import("playwright-core");
    const browser = await chromium.launch({
      executablePath: process.env.STYLEKUBE_CHROMIUM ?? "/usr/bin/chromium",
      args: ["--no-sandbox"],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(base);
      await page.getByText(TRAINING).first().waitFor({ timeout: 30_000 });
      await page.getByText(SERVER).first().waitFor({ timeout: 30_000 });
      const text = await page.locator("body").innerText();
      assert.match(text, new RegExp(TRAINING));
      assert.match(text, /Succeeded/);
      // Previews: rank 0 wrote one per checkpoint; the operator reads them
      // from S3 with its own keys (OPERATOR_S3_SECRET).
      const detail = (await (await fetch(`${base}/api/trainings/${NS}/${TRAINING}`)).json()) as {
        training: { previews: { step: number; photos: string[] }[] };
      };
      const checkpoints = detail.training.previews;
      assert.ok(
        checkpoints.length >= 2,
        `the dashboard lists previews of the checkpoints: ${JSON.stringify(checkpoints)}`,
      );
      const previewAt = async (checkpoint: { step: number; photos: string[] }): Promise<Buffer> => {
        const photo = checkpoint.photos[0];
        assert.ok(photo, `checkpoint ${checkpoint.step} has a held-out photo`);
        const url = `${base}/api/trainings/${NS}/${TRAINING}/previews/${checkpoint.step}/${encodeURIComponent(photo)}`;
        const res = await fetch(url);
        const body = Buffer.from(await res.arrayBuffer());
        assert.equal(
          res.status,
          200,
          `preview ${photo} at step ${checkpoint.step}: ${body.toString().slice(0, 200)}`,
        );
        return body;
      };
      const first = await previewAt(checkpoints[0]!);
      const previewBody = await previewAt(checkpoints[checkpoints.length - 1]!);
      const previewMeta = await sharp(previewBody).metadata();
      assert.equal(previewMeta.format, "jpeg");
      assert.ok((previewMeta.width ?? 0) > 0, "the preview has pixels");
      // Training changed the network between the first and the last checkpoint.
      assert.notDeepEqual(
        await sharp(first).raw().toBuffer(),
        await sharp(previewBody).raw().toBuffer(),
        "the first and last checkpoints' previews are the same picture",
      );
      writeFileSync(join(ctx.artifactsDir, "preview.jpg"), previewBody);
      await page.getByText(TRAINING).first().click();
      // The slider's newest checkpoint: the held-out photo stylised by it.
      const img = page.locator("#previews figure .preview-stylised").first();
      await img.waitFor({ timeout: 30_000 });
      await until("the preview image loaded in the page", 30_000, async () => {
        const loaded = await img.evaluate((el) => {
          const image = el as unknown as { complete: boolean; naturalWidth: number };
          return image.complete && image.naturalWidth > 0;
        });
        return loaded ? true : undefined;
      });
      await page.screenshot({ path: join(ctx.artifactsDir, "dashboard.png"), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
