// MinIO (S3) on loopback with generated root credentials, and the test bucket.
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { S3Client } from "@aws-sdk/client-s3";
import type { TestEnv } from "./env-file.js";
import { isOk } from "./http-probe.js";
import { LAYOUT } from "./layout.js";
import { freePorts, LOOPBACK } from "./ports.js";
import { startDetached, waitFor, type Started } from "./processes.js";

export const TEST_BUCKET = "stylekube-test";
export const MINIO_REGION = "us-east-1";

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
      MINIO_REGION,
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
  return { process, s3: await testBucketOn(endpoint, accessKeyId, secretAccessKey) };
}

/** The test bucket on a ready MinIO at `endpoint`, created, as the environment describes it. */
export async function testBucketOn(
  endpoint: string,
  accessKeyId: string,
  secretAccessKey: string,
): Promise<TestEnv["s3"]> {
  const s3: TestEnv["s3"] = {
    endpoint,
    region: MINIO_REGION,
    accessKeyId,
    secretAccessKey,
    bucket: TEST_BUCKET,
    forcePathStyle: true,
  };
  await createBucket(s3);
  return s3;
}

export function minioHealthy(endpoint: string): Promise<boolean> {
  return isOk(`${endpoint}/minio/health/ready`);
}

/** A raw S3 client for the server `s3` describes (the caller destroys it). */
export async function s3Client(s3: TestEnv["s3"]): Promise<S3Client> {
  // Imported here so that health checks (which import this module) stay fast.
  const sdk = await import("@aws-sdk/client-s3");
  return new sdk.S3Client({
    endpoint: s3.endpoint,
    region: s3.region,
    forcePathStyle: s3.forcePathStyle,
    credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey },
  });
}

/** Creates the bucket `s3` names (and checks it is there). */
export async function createBucket(s3: TestEnv["s3"]): Promise<void> {
  const { CreateBucketCommand, HeadBucketCommand } = await import("@aws-sdk/client-s3");
  const client = await s3Client(s3);
  try {
    await client.send(new CreateBucketCommand({ Bucket: s3.bucket }));
    await client.send(new HeadBucketCommand({ Bucket: s3.bucket }));
  } finally {
    client.destroy();
  }
}
