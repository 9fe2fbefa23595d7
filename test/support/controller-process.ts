// Runs `stylekube controller` as a real child process with a given identity
// (kubeconfig), as it would run in a pod.
import { spawn, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { resolve } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { REPO_ROOT } from "../env/env-file.js";
import { waitFor } from "./kubernetes.js";

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolvePort(port));
    });
  });
}

/** A kubeconfig that authenticates as a ServiceAccount, with a fresh bound token. */
export async function serviceAccountKubeconfig(
  admin: k8s.KubeConfig,
  namespace: string,
  name: string,
  file: string,
): Promise<string> {
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: 3600 } },
  });
  const cluster = admin.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ ...cluster, name: "test" }],
    users: [{ name: `${namespace}:${name}`, token: tr.status!.token }],
    contexts: [{ name: "sa", cluster: "test", user: `${namespace}:${name}`, namespace }],
    currentContext: "sa",
  });
  writeFileSync(file, kc.exportConfig(), { mode: 0o600 });
  return file;
}

export interface ControllerProcess {
  url: string;
  child: ChildProcess;
  logs: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

export async function startControllerProcess(
  kubeconfig: string,
  env: Record<string, string>,
): Promise<ControllerProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", resolve(REPO_ROOT, "cli/main.ts"), "controller"],
    {
      cwd: REPO_ROOT,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        KUBECONFIG: kubeconfig,
        STYLEKUBE_HTTP_HOST: "127.0.0.1",
        STYLEKUBE_HTTP_PORT: String(port),
        STYLEKUBE_LOG_LEVEL: "debug",
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  await waitFor(
    "controller /healthz",
    async () => {
      if (child.exitCode !== null) throw new Error(`controller exited ${child.exitCode}:\n${out}`);
      return (await fetch(`${url}/healthz`)).ok;
    },
    120_000,
  );
  return {
    url,
    child,
    logs: () => out,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null) child.kill(signal);
      return exited;
    },
  };
}
