// nats-server on loopback, with its HTTP monitoring endpoint (/healthz, /varz).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isOk } from "./http-probe.js";
import { LAYOUT } from "./layout.js";
import { freePorts, LOOPBACK } from "./ports.js";
import { startDetached, waitFor, type Started } from "./processes.js";

export interface NatsServer {
  process: Started;
  url: string;
  monitorUrl: string;
}

export async function startNats(binary: string, onStarted: (p: Started) => void): Promise<NatsServer> {
  const [port, monitorPort] = (await freePorts(2)) as [number, number];
  const config = join(LAYOUT.configDir, "nats.conf");
  mkdirSync(LAYOUT.configDir, { recursive: true });
  // max_payload stays at the 1 MB default, like a stock deployment.
  writeFileSync(
    config,
    [
      `server_name: stylekube-test`,
      `host: ${LOOPBACK}`,
      `port: ${port}`,
      `http: "${LOOPBACK}:${monitorPort}"`,
      "",
    ].join("\n"),
  );
  const process = startDetached({ name: "nats-server", binary, args: ["-c", config] });
  onStarted(process);
  const server = {
    process,
    url: `nats://${LOOPBACK}:${port}`,
    monitorUrl: `http://${LOOPBACK}:${monitorPort}`,
  };
  await waitFor("nats-server /healthz", () => natsHealthy(server.monitorUrl), {
    timeoutMs: 30_000,
    process,
    binaryName: "nats-server",
  });
  return server;
}

export function natsHealthy(monitorUrl: string): Promise<boolean> {
  return isOk(`${monitorUrl}/healthz`);
}
