// The test environment's S3 server (MinIO, started by `npm run env:up`) as an
// ObjectStore, and URIs in its bucket under one prefix per test run.
import { openStore, type ObjectStore } from "../../common/storage/index.js";
import { readTestEnv } from "../env/env-file.js";

export function openTestStore(): ObjectStore {
  const env = readTestEnv();
  return openStore({
    s3: {
      endpoint: env.s3.endpoint,
      region: env.s3.region,
      accessKeyId: env.s3.accessKeyId,
      secretAccessKey: env.s3.secretAccessKey,
      forcePathStyle: true,
    },
  });
}

/** `s3://<test bucket>/<run>/<path>`. */
export function testUri(run: string, path: string): string {
  return `s3://${readTestEnv().s3.bucket}/${run}/${path}`;
}
