// What the end-to-end test needs to know about the cluster it runs against:
// written by run.ts for the real node, or by hand for any other cluster
// (kind, a cloud cluster: docs/real-node.md), and passed in
// STYLEKUBE_E2E_CONTEXT. Checked here so a wrong field is named at once.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { z } from "zod";
import { ENV_DIR } from "../env/env-file.js";

export const E2eContextSchema = z.object({
  /** Admin kubeconfig of the cluster (omitted: $KUBECONFIG, else ~/.kube/config, as kubectl). */
  kubeconfig: z.string().min(1),
  /** kubectl binary. */
  kubectl: z.string().default("kubectl"),
  /** Namespace the StyleTraining and StyleServer are made in (deleted at the end). */
  namespace: z.string().default("stylekube-e2e"),
  /** The images `npm run images` built, as the cluster knows them. */
  images: z.object({ controller: z.string(), server: z.string(), trainer: z.string() }),
  /** NATS as the operator and the worker pods reach it. */
  natsUrl: z.string().url(),
  /** NATS monitoring (/connz) as this test reaches it, to see the workers' connections. */
  natsMonitorUrl: z.string().url().optional(),
  s3: z.object({
    /** S3 endpoint as pods reach it. */
    endpoint: z.string().url(),
    /** S3 endpoint as this test reaches it (upload the data, check checkpoints). */
    hostEndpoint: z.string().url(),
    region: z.string().default("us-east-1"),
    accessKeyId: z.string(),
    secretAccessKey: z.string(),
    bucket: z.string(),
  }),
  /**
   * How the operator's Deployment (manifests/install.yaml) is changed for this
   * cluster: on the real node it runs with hostNetwork (pods there cannot reach
   * an apiserver on 127.0.0.1), listening on `httpHost:httpPort`, and talks to
   * the apiserver at `apiserver`.
   */
  operator: z
    .object({
      hostNetwork: z.boolean().default(false),
      httpHost: z.string().optional(),
      httpPort: z.number().int().optional(),
      apiserver: z.object({ host: z.string(), port: z.number().int() }).optional(),
    })
    .default({ hostNetwork: false }),
  /**
   * Kills one container as a node failure would (SIGKILL from outside its PID
   * namespace); `{containerID}` is replaced with the bare ID from the pod's status.
   * Real node: ctr … tasks kill -s SIGKILL; kind: docker exec <node> crictl stop --timeout 0.
   */
  killCommand: z.string().includes("{containerID}"),
  /** Node the pods must run on (the real node); unset: any node. */
  nodeName: z.string().optional(),
  /** Nodes to cordon for the test's duration (kwok's fake nodes), uncordoned after. */
  cordon: z.array(z.string()).default([]),
  /** Where screenshots and the stylised image go (default .stylekube/e2e). */
  artifactsDir: z.string().default(join(ENV_DIR, "e2e")),
});
export type E2eContext = z.infer<typeof E2eContextSchema>;

/** The kubeconfig kubectl would use: $KUBECONFIG (its first file), else ~/.kube/config. */
export function defaultKubeconfig(env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.KUBECONFIG?.split(delimiter).find((f) => f !== "");
  return fromEnv ?? join(env.HOME ?? homedir(), ".kube", "config");
}

/** Checks a parsed context file; a missing kubeconfig is kubectl's default. */
export function parseE2eContext(
  raw: unknown,
  source: string,
  env: NodeJS.ProcessEnv = process.env,
): E2eContext {
  const withDefaults =
    raw !== null && typeof raw === "object" && !("kubeconfig" in raw)
      ? { ...raw, kubeconfig: defaultKubeconfig(env) }
      : raw;
  const parsed = E2eContextSchema.safeParse(withDefaults);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`${source}: invalid e2e context: ${problems}`);
  }
  if (!existsSync(parsed.data.kubeconfig)) {
    throw new Error(
      `${source}: kubeconfig ${parsed.data.kubeconfig} does not exist: set "kubeconfig" in the context file or KUBECONFIG`,
    );
  }
  return parsed.data;
}

export function readE2eContext(file = process.env.STYLEKUBE_E2E_CONTEXT): E2eContext {
  if (!file) throw new Error("STYLEKUBE_E2E_CONTEXT is not set: run the e2e with `npm run test:e2e`");
  return parseE2eContext(JSON.parse(readFileSync(file, "utf8")), file);
}
