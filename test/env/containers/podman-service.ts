// podman's Docker-compatible API (`podman system service`) on a unix socket
// of the environment's own, so testcontainers (which speaks the Docker API)
// drives podman. No TCP endpoint: nothing but this machine can reach it.
import { mkdirSync, rmSync } from "node:fs";
import { request } from "node:http";
import { dirname } from "node:path";
import { podmanSettings } from "../podman.js";
import { startDetached, waitFor, type Started } from "../processes.js";

export interface PodmanService {
  process: Started;
  /** unix:///…/podman.sock, for DOCKER_HOST. */
  dockerHost: string;
  socket: string;
}

/** GET /_ping over the socket answers "OK" once the API serves. */
export function dockerApiAnswers(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath: socket, path: "/_ping", timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => req.destroy());
    req.end();
  });
}

/**
 * Starts the service detached (its own process group, log under the
 * environment's logs) and waits until it answers. `--time=0`: it never exits
 * by itself while idle; whoever starts it stops it.
 */
export async function startPodmanService(name: string, socket: string): Promise<PodmanService> {
  mkdirSync(dirname(socket), { recursive: true });
  rmSync(socket, { force: true });
  const dockerHost = `unix://${socket}`;
  const process = startDetached({
    name,
    binary: "podman",
    args: ["system", "service", "--time=0", dockerHost],
    env: podmanSettings(),
  });
  await waitFor(`podman system service on ${socket}`, () => dockerApiAnswers(socket), {
    timeoutMs: 30_000,
    process,
  });
  return { process, dockerHost, socket };
}
