// Per-job NATS credentials. With an account signing key configured
// (STYLEKUBE_NATS_ACCOUNT_SEED, NATS decentralised JWT auth), the operator
// mints for every StyleTraining a user whose permissions cover only that
// job's gradient subjects and its own progress subject, and hands it to the
// workers in a Secret. A worker of one job can then neither read nor disturb
// another job's traffic, and its credentials are worthless elsewhere.
import { createUser, encodeUser, fmtCreds, fromSeed } from "@nats-io/jwt";
import { jobSubjects, progressSubject, ALL_PROGRESS } from "../../common/nats-subjects.js";

export interface JobIdentity {
  jobId: string;
  namespace: string;
  name: string;
}

/** What a job's workers may publish and subscribe to. */
export function jobPermissions(job: JobIdentity) {
  const gradients = jobSubjects(job.jobId);
  return {
    pub: { allow: [gradients, progressSubject(job.namespace, job.name)] },
    sub: { allow: [gradients] },
  };
}

function accountKey(accountSeed: string) {
  const key = fromSeed(new TextEncoder().encode(accountSeed.trim()));
  if (!key.getPublicKey().startsWith("A")) {
    throw new Error("STYLEKUBE_NATS_ACCOUNT_SEED must be an account seed (it starts with SA)");
  }
  return key;
}

/** A NATS .creds file (user JWT + seed) for one job, valid for `ttlSeconds`. */
export async function mintJobCredentials(
  accountSeed: string,
  job: JobIdentity,
  ttlSeconds: number,
): Promise<string> {
  const user = createUser();
  const jwt = await encodeUser(
    `stylekube-job-${job.namespace}-${job.name}`,
    user,
    accountKey(accountSeed),
    jobPermissions(job),
    {
      exp: Math.floor(Date.now() / 1000) + ttlSeconds,
    },
  );
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

/** Credentials for an operator: it only listens to progress. */
export async function mintOperatorCredentials(accountSeed: string): Promise<string> {
  const user = createUser();
  const jwt = await encodeUser("stylekube-operator", user, accountKey(accountSeed), {
    sub: { allow: [ALL_PROGRESS] },
    pub: { deny: [">"] },
  });
  return new TextDecoder().decode(fmtCreds(jwt, user));
}

export const CREDS_KEY = "nats.creds";
export const CREDS_MOUNT = "/var/run/stylekube/nats";
