// NATS and MinIO started through testcontainers (the Docker API, served here
// by podman), from the images in images.ts, configured like the binaries
// provider's: loopback only, generated MinIO credentials, the test bucket.
//
// Host networking: each server shares this machine's network namespace and
// binds 127.0.0.1 itself. Publishing ports from podman's bridge instead would
// create a bridge, NAT rules and turn on IP forwarding, and podman's default
// network masquerades to the outside world: more host state, and a route out
// that the network rule forbids. Here nothing is published and no rule made.
import { randomBytes } from "node:crypto";
import { GenericContainer, type StartedTestContainer } from "testcontainers";
import type { TestEnv } from "../env-file.js";
import { MINIO_REGION, minioHealthy, testBucketOn } from "../minio.js";
import { natsHealthy } from "../nats.js";
import { freePorts, LOOPBACK } from "../ports.js";
import { waitFor } from "../processes.js";
import type { ServerImages } from "./images.js";
import { OWNER_LABEL } from "./owned.js";

/** A read-only root filesystem (the images hold one static binary and nothing else is written). */
class ServerContainer extends GenericContainer {
  constructor(image: string, owner: string) {
    super(image);
    this.hostConfig.ReadonlyRootfs = true;
    this.withNetworkMode("host").withLabels({ [OWNER_LABEL]: owner });
  }
}

export interface ContainerServers {
  natsUrl: string;
  natsMonitorUrl: string;
  s3: TestEnv["s3"];
  containers: StartedTestContainer[];
}

async function startNatsContainer(image: string, owner: string) {
  const [port, monitorPort] = (await freePorts(2)) as [number, number];
  // -m binds the monitor to the -a address (no other host is ever used).
  const container = await new ServerContainer(image, owner)
    .withName(`stylekube-nats-${port}`)
    .withCommand(["-n", "stylekube-test", "-a", LOOPBACK, "-p", String(port), "-m", String(monitorPort)])
    .start();
  const monitorUrl = `http://${LOOPBACK}:${monitorPort}`;
  await waitFor("nats-server container /healthz", () => natsHealthy(monitorUrl), { timeoutMs: 30_000 });
  return { container, url: `nats://${LOOPBACK}:${port}`, monitorUrl };
}

async function startMinioContainer(image: string, owner: string) {
  const [port, consolePort] = (await freePorts(2)) as [number, number];
  const accessKeyId = `stylekube-${randomBytes(4).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  // Data and MinIO's certificate folder on tmpfs: the root is read-only and
  // the container's data goes with it.
  const container = await new ServerContainer(image, owner)
    .withName(`stylekube-minio-${port}`)
    .withTmpFs({ "/data": "rw,size=512m,mode=1777", "/tmp": "rw,size=16m,mode=1777" })
    .withEnvironment({
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_REGION,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
    })
    .withCommand([
      "server",
      "/data",
      "--certs-dir",
      "/tmp/certs",
      "--address",
      `${LOOPBACK}:${port}`,
      "--console-address",
      `${LOOPBACK}:${consolePort}`,
      "--quiet",
    ])
    .start();
  const endpoint = `http://${LOOPBACK}:${port}`;
  await waitFor("minio container /minio/health/ready", () => minioHealthy(endpoint), { timeoutMs: 60_000 });
  return { container, s3: await testBucketOn(endpoint, accessKeyId, secretAccessKey) };
}

/**
 * Starts both through the Docker API at `dockerHost`. testcontainers reads
 * its settings from the environment: DOCKER_HOST, and no Ryuk (its reaper
 * image cannot be pulled here; env:down and the tests remove what they start
 * by OWNER_LABEL). On a failure, whatever did start is stopped again.
 */
export async function startContainerServers(
  dockerHost: string,
  images: ServerImages,
  owner: string,
): Promise<ContainerServers> {
  process.env.DOCKER_HOST = dockerHost;
  process.env.TESTCONTAINERS_RYUK_DISABLED = "true";
  process.env.TESTCONTAINERS_HOST_OVERRIDE = LOOPBACK;
  const results = await Promise.allSettled([
    startNatsContainer(images.nats, owner),
    startMinioContainer(images.minio, owner),
  ]);
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value.container] : []));
  const [nats, minio] = results;
  if (nats.status === "rejected" || minio.status === "rejected") {
    await Promise.allSettled(started.map((c) => c.stop({ timeout: 0 })));
    throw nats.status === "rejected" ? nats.reason : (minio as PromiseRejectedResult).reason;
  }
  return {
    natsUrl: nats.value.url,
    natsMonitorUrl: nats.value.monitorUrl,
    s3: minio.value.s3,
    containers: started,
  };
}
