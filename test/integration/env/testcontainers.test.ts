// The testcontainers provider (STYLEKUBE_ENV_PROVIDER=testcontainers): podman
// serves the Docker API on a socket of this test's own, testcontainers starts
// NATS and MinIO from images made of the environment's own binaries, and a
// real publish/subscribe and S3 put/get go through them. Skipped, with the
// reason printed, where podman is not installed or cannot run containers.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { connect, StringCodec } from "nats";
import { createLogger } from "../../../common/log/logger.js";
import { ensureServerImages } from "../../env/containers/images.js";
import { startPodmanService, type PodmanService } from "../../env/containers/podman-service.js";
import { OWNER_LABEL, removeOwnedContainers } from "../../env/containers/owned.js";
import { startContainerServers, type ContainerServers } from "../../env/containers/servers.js";
import { LAYOUT } from "../../env/layout.js";
import { s3Client } from "../../env/minio.js";
import { podmanUnavailable } from "../../env/podman.js";
import { stopGroup } from "../../env/processes.js";
import { ensureTools } from "../../env/tools.js";

const unavailable = podmanUnavailable();
if (unavailable) console.log(`# testcontainers provider test skipped: ${unavailable}`);

/** GET on the Docker API over its unix socket, parsed as JSON. */
function dockerApi(socket: string, path: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const body = Buffer.concat(chunks).toString("utf8");
        if (res.statusCode !== 200) reject(new Error(`GET ${path}: ${res.statusCode} ${body}`));
        else resolve(JSON.parse(body));
      });
    });
    req.on("error", reject);
    req.end();
  });
}

/** Local addresses of the TCP sockets listening on `port` (from /proc/net/tcp, this network namespace). */
function listeningAddresses(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  return readFileSync("/proc/net/tcp", "utf8")
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((f) => f[1]?.endsWith(`:${hexPort}`) && f[3] === "0A") // 0A: LISTEN
    .map((f) => {
      const hex = f[1]!.split(":")[0]!;
      return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join(".");
    });
}

describe("test environment: testcontainers provider through podman", { skip: unavailable }, () => {
  const owner = `integration-test-${process.pid}-${randomBytes(3).toString("hex")}`;
  let runDir: string;
  let service: PodmanService;
  let servers: ContainerServers;

  before(async () => {
    const tools = await ensureTools(createLogger("testcontainers-test"));
    const images = ensureServerImages(tools);
    mkdirSync(LAYOUT.logsDir, { recursive: true });
    runDir = mkdtempSync(join(tmpdir(), "stylekube-tc-"));
    service = await startPodmanService(`podman-service-test-${process.pid}`, join(runDir, "podman.sock"));
    servers = await startContainerServers(service.dockerHost, images, owner);
  });

  after(async () => {
    await Promise.allSettled((servers?.containers ?? []).map((c) => c.stop({ timeout: 0 })));
    if (!unavailable) removeOwnedContainers(owner); // any a failed start left
    if (service) await stopGroup(service.process.pid, "podman");
    if (runDir) rmSync(runDir, { recursive: true, force: true });
  });

  it("runs both servers as containers of the local images, host network, read-only root, uid 65534", async () => {
    const filter = encodeURIComponent(JSON.stringify({ label: [`${OWNER_LABEL}=${owner}`] }));
    const list = (await dockerApi(service.socket, `/containers/json?filters=${filter}`)) as { Id: string }[];
    assert.equal(list.length, 2);
    const inspected = (await Promise.all(
      list.map((c) => dockerApi(service.socket, `/containers/${c.Id}/json`)),
    )) as {
      Config: { Image: string; User: string };
      State: { Running: boolean };
      HostConfig: { NetworkMode: string; ReadonlyRootfs: boolean };
    }[];
    assert.deepEqual(inspected.map((c) => c.Config.Image.replace(/:.*/, "")).sort(), [
      "localhost/stylekube/test-minio",
      "localhost/stylekube/test-nats-server",
    ]);
    for (const c of inspected) {
      assert.equal(c.State.Running, true);
      assert.equal(c.HostConfig.NetworkMode, "host");
      assert.equal(c.HostConfig.ReadonlyRootfs, true);
      assert.equal(c.Config.User, "65534:65534");
    }
  });

  it("listens on 127.0.0.1 only", () => {
    for (const url of [servers.natsUrl, servers.natsMonitorUrl, servers.s3.endpoint]) {
      const port = Number(new URL(url).port);
      assert.deepEqual(listeningAddresses(port), ["127.0.0.1"], url);
    }
  });

  it("delivers a published message to a subscriber on another connection", async () => {
    const sc = StringCodec();
    const publisher = await connect({ servers: servers.natsUrl, name: "tc-publisher" });
    const subscriber = await connect({ servers: servers.natsUrl, name: "tc-subscriber" });
    try {
      const subject = `stylekube.test.tc.${randomBytes(4).toString("hex")}`;
      const payload = `hello ${randomBytes(8).toString("hex")}`;
      const sub = subscriber.subscribe(subject, { max: 1, timeout: 5_000 });
      await subscriber.flush();
      publisher.publish(subject, sc.encode(payload));
      const received: string[] = [];
      for await (const msg of sub) received.push(sc.decode(msg.data));
      assert.deepEqual(received, [payload]);
    } finally {
      await publisher.close();
      await subscriber.close();
    }
  });

  it("stores an object in the test bucket and returns the same bytes", async () => {
    const { s3 } = servers;
    const client = await s3Client(s3);
    try {
      const key = `tc/${randomBytes(4).toString("hex")}.bin`;
      const body = randomBytes(256 * 1024);
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
      const got = await client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
      const bytes = Buffer.from(await got.Body!.transformToByteArray());
      assert.ok(bytes.equals(body), "object read back differs from what was written");
    } finally {
      client.destroy();
    }
  });
});
