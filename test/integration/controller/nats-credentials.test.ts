// Per-job NATS credentials against a real nats-server in JWT (operator) mode:
// the operator mints a user per StyleTraining, limited to that job's gradient
// subjects and its own progress subject, and gives it to the workers in a
// Secret. The operator itself connects with its own, listen-only credentials.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { createAccount, createOperator, encodeAccount, encodeOperator } from "@nats-io/jwt";
import { connect, credsAuthenticator, type NatsConnection } from "nats";
import { GROUP, VERSION, type StyleTrainingStatus } from "../../../common/api/index.js";
import { progressSubject } from "../../../common/nats-subjects.js";
import type { ProgressMessage } from "../../../common/progress.js";
import { CREDS_KEY, mintOperatorCredentials } from "../../../controller/nats/job-credentials.js";
import { Collective } from "../../../trainer/collectives/index.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import { startNatsServer, type PrivateNats } from "../collectives/support.js";
import { waitFor } from "../../support/kubernetes.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";

// An account JWT without limits allows nothing (0 connections).
const UNLIMITED = {
  conn: -1,
  subs: -1,
  data: -1,
  payload: -1,
  imports: -1,
  exports: -1,
  leaf: -1,
  wildcards: true,
};

describe("per-job NATS credentials (JWT auth)", () => {
  const dir = mkdtempSync(join(tmpdir(), "stylekube-nats-jwt-"));
  let nats: PrivateNats;
  let op: OperatorUnderTest;
  let kc: k8s.KubeConfig;
  let ns: string;
  const open: NatsConnection[] = [];

  before(async () => {
    const operator = createOperator();
    const system = createAccount();
    const account = createAccount();
    const config = join(dir, "nats.conf");
    writeFileSync(
      config,
      [
        `operator: ${await encodeOperator("stylekube-test", operator, { system_account: system.getPublicKey() })}`,
        `system_account: ${system.getPublicKey()}`,
        "resolver: MEMORY",
        "resolver_preload: {",
        `  ${system.getPublicKey()}: ${await encodeAccount("SYS", system, { limits: UNLIMITED }, { signer: operator })}`,
        `  ${account.getPublicKey()}: ${await encodeAccount("stylekube", account, { limits: UNLIMITED }, { signer: operator })}`,
        "}",
      ].join("\n"),
    );
    nats = await startNatsServer(["-c", config]);
    const seed = new TextDecoder().decode(account.getSeed());
    const operatorCreds = join(dir, "operator.creds");
    writeFileSync(operatorCreds, await mintOperatorCredentials(seed));

    op = await setUpOperator("nats-jwt", (namespace) => ({
      STYLEKUBE_NATS_URL: nats.url,
      STYLEKUBE_NATS_CREDS_FILE: operatorCreds,
      STYLEKUBE_NATS_ACCOUNT_SEED: seed,
      STYLEKUBE_WATCH_NAMESPACE: namespace,
      STYLEKUBE_LEADER_ELECT: "false",
      STYLEKUBE_STATUS_INTERVAL_MS: "200",
    }));
    ({ kc, namespace: ns } = op);
  });

  after(async () => {
    for (const c of open) await c.close().catch(() => undefined);
    await op?.cleanup();
    await nats?.stop();
  });

  const custom = () => kc.makeApiClient(k8s.CustomObjectsApi);
  const core = () => kc.makeApiClient(k8s.CoreV1Api);

  async function createTraining(name: string): Promise<{ uid: string; creds: string }> {
    const body = minimalStyleTraining(name);
    body.spec = { ...body.spec, workers: 2, resources: { gpu: 0, cpu: "1", memory: "1Gi" } };
    const created = (await custom().createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: "styletrainings",
      body,
    })) as { metadata: { uid: string } };
    let pods: k8s.V1Pod[] = [];
    await waitFor(`${name} pods`, async () => {
      pods = (
        await core().listNamespacedPod({ namespace: ns, labelSelector: `stylekube.io/training=${name}` })
      ).items;
      return pods.length === 2;
    });
    const secretName = pods[0]!.spec!.volumes!.find((v) => v.name === "nats-creds")?.secret?.secretName;
    assert.ok(secretName, "worker pods mount the job's credentials");
    const env = pods[0]!.spec!.containers[0]!.env!;
    assert.ok(env.some((e) => e.name === "STYLEKUBE_NATS_CREDS_FILE" && e.value?.endsWith(CREDS_KEY)));
    const secret = await core().readNamespacedSecret({ name: secretName, namespace: ns });
    assert.equal(
      secret.metadata!.ownerReferences?.[0]?.uid,
      created.metadata.uid,
      "the Secret goes with the training",
    );
    return { uid: created.metadata.uid, creds: Buffer.from(secret.data![CREDS_KEY]!, "base64").toString() };
  }

  const connectWith = async (creds: string) => {
    const nc = await connect({
      servers: nats.url,
      authenticator: credsAuthenticator(new TextEncoder().encode(creds)),
    });
    open.push(nc);
    return nc;
  };

  it("gives each job credentials that carry its gradients and its progress, and nothing else", async () => {
    const alpha = await createTraining("alpha");
    const beta = await createTraining("beta");

    // Anonymous clients are refused by the server.
    await assert.rejects(connect({ servers: nats.url }));

    // The job's own traffic works: two workers allreduce with alpha's credentials.
    const credsFile = join(dir, "alpha.creds");
    writeFileSync(credsFile, alpha.creds);
    const workers = await Promise.all(
      [0, 1].map((rank) =>
        Collective.join({
          nats: { url: nats.url, credsFile },
          jobId: alpha.uid,
          attempt: 1,
          rank,
          worldSize: 2,
          stepTimeoutMs: 10_000,
        }),
      ),
    );
    const buffers = [new Float32Array([1, 2, 3]), new Float32Array([3, 4, 5])];
    await Promise.all(workers.map((w, i) => w.allreduceMean(buffers[i]!, 1)));
    assert.deepEqual([...buffers[0]!], [2, 3, 4]);
    await Promise.all(workers.map((w) => w.close()));

    // Its progress reaches the operator, which listens with its own credentials.
    const nc = await connectWith(alpha.creds);
    const progress: ProgressMessage = {
      jobId: alpha.uid,
      attempt: 1,
      rank: 0,
      step: 42,
      totalSteps: 40_000,
      imagesPerSecond: 2,
      loss: { total: 1, content: 1, style: 1, tv: 1 },
      time: new Date().toISOString(),
    };
    const timer = setInterval(() => nc.publish(progressSubject(ns, "alpha"), JSON.stringify(progress)), 300);
    try {
      await waitFor("alpha's progress in status", async () => {
        const t = (await custom().getNamespacedCustomObject({
          group: GROUP,
          version: VERSION,
          namespace: ns,
          plural: "styletrainings",
          name: "alpha",
        })) as { status?: StyleTrainingStatus };
        return t.status?.progress?.step === 42;
      });
    } finally {
      clearInterval(timer);
    }

    // Another job's gradients are off limits to alpha's credentials.
    const spy = nc.subscribe(`stylekube.${beta.uid}.1.ctl`);
    await assert.rejects(
      (async () => {
        for await (const _ of spy) break;
      })(),
      /permissions violation/i,
    );
    // So is publishing another training's progress.
    const errors: string[] = [];
    void (async () => {
      for await (const s of nc.status()) if (s.type === "error") errors.push(String(s.data));
    })();
    nc.publish(progressSubject(ns, "beta"), JSON.stringify({ ...progress, jobId: beta.uid }));
    await nc.flush();
    await waitFor("publish refused", async () => errors.some((e) => /permissions.violation/i.test(e)));
  });
});
