// The contract between `npm run env:up` and everything that uses the test
// environment (tests, demo, benchmarks): one JSON file of endpoints.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { z } from "zod";

export const REPO_ROOT = resolve(import.meta.dirname, "../..");
export const ENV_DIR = process.env.STYLEKUBE_ENV_DIR ?? resolve(REPO_ROOT, ".stylekube");
export const ENV_FILE = resolve(ENV_DIR, "env.json");

/** How NATS and MinIO are provided: local processes, or containers started through testcontainers. */
export const PROVIDERS = ["binaries", "testcontainers"] as const;
export type Provider = (typeof PROVIDERS)[number];

export const TestEnvSchema = z.object({
  /** How the environment was provided: local binaries, or testcontainers. */
  provider: z.enum(PROVIDERS),
  /** Admin kubeconfig (system:masters) for the test apiserver. */
  kubeconfig: z.string().min(1),
  kubernetesVersion: z.string(),
  natsUrl: z.string().url(),
  s3: z.object({
    endpoint: z.string().url(),
    region: z.string(),
    accessKeyId: z.string(),
    secretAccessKey: z.string(),
    bucket: z.string(),
    forcePathStyle: z.boolean().default(true),
  }),
  /** Directory with kubectl and the other built tools, for tests that shell out. */
  binDir: z.string().optional(),
  /** NATS HTTP monitoring endpoint (/healthz, /varz), where the provider has one. */
  natsMonitorUrl: z.string().url().optional(),
  /** Directory with one log file per server process. */
  logsDir: z.string().optional(),
  /**
   * testcontainers provider: the Docker-compatible API (podman system service)
   * its containers were started through, for tests that start more.
   */
  dockerHost: z.string().optional(),
  /** pids of the processes env:up started, for env:down. */
  pids: z.record(z.string(), z.number().int()).default({}),
});
export type TestEnv = z.infer<typeof TestEnvSchema>;

/** STYLEKUBE_ENV_PROVIDER: how env:up provides NATS and MinIO (default: local binaries). */
export function selectedProvider(env: NodeJS.ProcessEnv = process.env): Provider {
  const value = env.STYLEKUBE_ENV_PROVIDER;
  if (value === undefined || value === "") return "binaries";
  if ((PROVIDERS as readonly string[]).includes(value)) return value as Provider;
  throw new Error(
    `STYLEKUBE_ENV_PROVIDER=${value} is not a provider: use one of ${PROVIDERS.join(", ")} (or leave it unset for binaries)`,
  );
}

export function readTestEnv(file = ENV_FILE): TestEnv {
  if (!existsSync(file)) {
    throw new Error(`${file} does not exist: run \`npm run env:up\` first (npm test does it for you)`);
  }
  return TestEnvSchema.parse(JSON.parse(readFileSync(file, "utf8")));
}
