// MinIO (S3) on loopback with generated root credentials, and the test bucket.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { TestEnv } from "./env-file.js";
import { isOk } from "./http-probe.js";
import { LAYOUT } from "./layout.js";
import { freePorts, LOOPBACK } from "./ports.js";
import { startDetached, waitFor, type Started } from "./processes.js";

export const TEST_BUCKET = "stylekube-test";
const REGION = "us-east-1";

export interface MinioServer {
  process: Started;
  s3: TestEnv["s3"];
}

export async function startMinio(binary: string, onStarted: (p: Started) => void): Promise<MinioServer> {
  const [port, consolePort] = (await freePorts(2)) as [number, number];
  const dataDir = join(LAYOUT.dataDir, "minio");
  mkdirSync(dataDir, { recursive: true });
  const accessKeyId = `stylekube-${randomBytes(4).toString("hex")}`;
  const secretAccessKey = randomBytes(24).toString("base64url");
  const process = startDetached({
    name: "minio",
    binary,
    args: [
      "server",
      dataDir,
      "--address",
      `${LOOPBACK}:${port}`,
      "--console-address",
      `${LOOPBACK}:${consolePort}`,
      "--quiet",
    ],
    env: {
      MINIO_ROOT_USER: accessKeyId,
      MINIO_ROOT_PASSWORD: secretAccessKey,
      MINIO_REGION: REGION,
      MINIO_BROWSER: "off",
      MINIO_UPDATE: "off",
    },
  });
  onStarted(process);
  const endpoint = `http://${LOOPBACK}:${port}`;
  await waitFor("minio /minio/health/ready", () => minioHealthy(endpoint), {
    timeoutMs: 60_000,
    process,
    binaryName: "minio",
  });
  const s3: TestEnv["s3"] = {
    endpoint,
    region: REGION,
    accessKeyId,
    secretAccessKey,
    bucket: TEST_BUCKET,
    forcePathStyle: true,
  };
  await createBucket(s3);
  return { process, s3 };
}

export function minioHealthy(endpoint: string): Promise<boolean> {
  return isOk(`${endpoint}/minio/health/ready`);
}

/** Creates the bucket `s3` names (and checks it is there). */
export async function createBucket(s3: TestEnv["s3"]): Promise<void> {
  // Imported here so that health checks (which import this module) stay fast.
  const { CreateBucketCommand, HeadBucketCommand, S3Client } = await import("@aws-sdk/client-s3");
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
  try {
    await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
    await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
  } finally {
    client.destroy();
  }
}
