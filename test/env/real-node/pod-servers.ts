// NATS and MinIO that pods on the real node can reach: the same binaries as
// the environment's own servers, listening on the bridge's host address (an
// address the environment created) instead of loopback, which pods cannot
// reach. The host reaches them at the same address.
import { randomBytes } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { TestEnv } from "../env-file.js";
import { createBucket, MINIO_REGION, minioHealthy } from "../minio.js";
import { natsHealthy } from "../nats.js";
import { freePorts } from "../ports.js";
import { startDetached, waitFor, type Started } from "../processes.js";
import { POD_NETWORK, REAL_NODE } from "./layout.js";

export interface PodServers {
  natsUrl: string;
  natsMonitorUrl: string;
  s3: TestEnv["s3"];
}

export const POD_BUCKET = "stylekube-e2e";

export async function startPodServers(
  bin: { nats: string; minio: string },
  onStarted: (p: Started) => void,
): Promise<PodServers> {
  const host = POD_NETWORK.hostAddress;
  const [natsPort, monitorPort, s3Port, consolePort] = (await freePorts(4)) as [
    number,
    number,
    number,
    number,
  ];
  mkdirSync(REAL_NODE.serversDir, { recursive: true });
  const natsConf = join(REAL_NODE.serversDir, "nats.conf");
  writeFileSync(
    natsConf,
    `server_name: stylekube-real-node\nhost: ${host}\nport: ${natsPort}\nhttp: "${host}:${monitorPort}"\n`,
  );
  const nats = startDetached({ name: "real-node-nats-server", binary: bin.nats, args: ["-c", natsConf] });
  onStarted(nats);

  const dataDir = join(REAL_NODE.serversDir, "minio");
  mkdirSync(dataDir, { recursive: true });
  const s3: TestEnv["s3"] = {
    endpoint: `http://${host}:${s3Port}`,
    region: MINIO_REGION,
    accessKeyId: `stylekube-${randomBytes(4).toString("hex")}`,
    secretAccessKey: randomBytes(24).toString("base64url"),
    bucket: POD_BUCKET,
    forcePathStyle: true,
  };
  const minio = startDetached({
    name: "real-node-minio",
    binary: bin.minio,
    args: [
      "server",
      dataDir,
      "--address",
      `${host}:${s3Port}`,
      "--console-address",
      `${host}:${consolePort}`,
      "--quiet",
    ],
    env: {
      MINIO_ROOT_USER: s3.accessKeyId,
      MINIO_ROOT_PASSWORD: s3.secretAccessKey,
      MINIO_REGION: s3.region,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
    },
  });
  onStarted(minio);

  const natsMonitorUrl = `http://${host}:${monitorPort}`;
  await waitFor("real-node nats /healthz", () => natsHealthy(natsMonitorUrl), {
    timeoutMs: 30_000,
    process: nats,
  });
  await waitFor("real-node minio ready", () => minioHealthy(s3.endpoint), {
    timeoutMs: 60_000,
    process: minio,
  });
  await createBucket(s3);
  return { natsUrl: `nats://${host}:${natsPort}`, natsMonitorUrl, s3 };
}
