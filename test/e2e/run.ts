// `npm run test:e2e`: the whole user path on real pods. Without
// STYLEKUBE_E2E_CONTEXT it brings up the test environment with the real node
// (root; docs/real-node.md), builds the images (`npm run images`, layer
// cache; STYLEKUBE_E2E_SKIP_BUILD=1 uses what podman has), loads them into
// the node's containerd and writes the context; with it, it runs the same
// test against that cluster.
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { createLogger } from "../../common/log/logger.js";
import { REPO_ROOT, ENV_DIR } from "../env/env-file.js";
import type { E2eContext } from "./context.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const log = createLogger("test:e2e");

async function realNodeContext(): Promise<string> {
  const { ensureTestEnv } = await import("../env/ensure.js");
  const { withLock } = await import("../env/lock.js");
  const { LAYOUT } = await import("../env/layout.js");
  const { freePorts } = await import("../env/ports.js");
  const { ensureRealNode, projectImages } = await import("../env/real-node/node.js");
  const { loadPodmanImages } = await import("../env/real-node/images.js");
  const { podmanHasImage } = await import("../env/podman.js");
  const { POD_NETWORK, REAL_NODE, NODE_NAME } = await import("../env/real-node/layout.js");
  const { adminClient } = await import("../env/kubernetes.js");

  const env = await ensureTestEnv(log);
  const node = await withLock(LAYOUT.lockFile, log, () => ensureRealNode(env, log));
  const images = projectImages();
  // Always through the build: with podman's layer cache an unchanged tree
  // costs seconds, and a changed one is not tested from stale images.
  if (process.env.STYLEKUBE_E2E_SKIP_BUILD !== "1" || !images.every(podmanHasImage)) {
    log.info("building the images (npm run images)");
    const build = spawnSync("bash", [resolve(REPO_ROOT, "images/build.sh")], { stdio: "inherit" });
    if (build.status !== 0) throw new Error("npm run images failed");
  }
  const started = Date.now();
  const loaded = loadPodmanImages(images);
  log.info({ loaded, seconds: Math.round((Date.now() - started) / 1000) }, "images in the node's containerd");

  if (!node.natsUrl || !node.natsMonitorUrl || !node.s3)
    throw new Error("the real node has no pod-reachable servers");
  const apiserver = new URL(node.apiserver);
  const [httpPort] = (await freePorts(1)) as [number];
  const kwokNodes = (await adminClient(env.kubeconfig).listNode()).items
    .filter((n) => n.metadata?.annotations?.["kwok.x-k8s.io/node"] === "fake")
    .map((n) => n.metadata!.name!);
  const [controller, server, trainer] = images as [string, string, string];
  const context: E2eContext = {
    kubeconfig: env.kubeconfig,
    kubectl: join(env.binDir ?? LAYOUT.binDir, "kubectl"),
    namespace: "stylekube-e2e",
    images: { controller, server, trainer },
    natsUrl: node.natsUrl,
    natsMonitorUrl: node.natsMonitorUrl,
    s3: { ...node.s3, hostEndpoint: node.s3.endpoint },
    operator: {
      hostNetwork: true,
      httpHost: POD_NETWORK.hostAddress,
      httpPort,
      apiserver: { host: apiserver.hostname, port: Number(apiserver.port) },
    },
    killCommand: `ctr --address ${REAL_NODE.containerdSocket} --namespace k8s.io tasks kill --signal SIGKILL {containerID}`,
    nodeName: NODE_NAME,
    cordon: kwokNodes,
    artifactsDir: join(ENV_DIR, "e2e"),
  };
  mkdirSync(context.artifactsDir, { recursive: true });
  const file = join(context.artifactsDir, "context.json");
  writeFileSync(file, `${JSON.stringify(context, null, 2)}\n`, { mode: 0o600 });
  return file;
}

try {
  const contextFile = process.env.STYLEKUBE_E2E_CONTEXT ?? (await realNodeContext());
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "--test",
      "--test-reporter=spec",
      "--test-timeout=1500000",
      "test/e2e/style-pipeline.e2e.ts",
    ],
    { cwd: REPO_ROOT, stdio: "inherit", env: { ...process.env, STYLEKUBE_E2E_CONTEXT: contextFile } },
  );
  process.exitCode = await new Promise<number>((res) => child.on("exit", (code) => res(code ?? 1)));
} catch (err) {
  log.error({ err }, "test:e2e failed");
  process.exitCode = 1;
}
