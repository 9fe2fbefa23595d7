// kubeconfig files for the test apiserver, with certificates embedded so a
// file is usable on its own (copied elsewhere, mounted, passed to kubectl).
import { readFileSync, writeFileSync } from "node:fs";
import { parse, stringify } from "yaml";
import { z } from "zod";
import type { ProbeTls } from "./http-probe.js";
import type { CertPair } from "./pki.js";

const b64 = (file: string): string => readFileSync(file).toString("base64");

export function writeKubeconfig(
  file: string,
  opts: { server: string; caCert: string; client: CertPair; user: string },
): void {
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: "stylekube-test",
        cluster: { server: opts.server, "certificate-authority-data": b64(opts.caCert) },
      },
    ],
    users: [
      {
        name: opts.user,
        user: { "client-certificate-data": b64(opts.client.cert), "client-key-data": b64(opts.client.key) },
      },
    ],
    contexts: [
      {
        name: "stylekube-test",
        context: { cluster: "stylekube-test", user: opts.user, namespace: "default" },
      },
    ],
    "current-context": "stylekube-test",
  };
  writeFileSync(file, stringify(config), { mode: 0o600 });
}

const KubeconfigSchema = z.object({
  "current-context": z.string(),
  contexts: z.array(
    z.object({ name: z.string(), context: z.object({ cluster: z.string(), user: z.string() }) }),
  ),
  clusters: z.array(
    z.object({
      name: z.string(),
      cluster: z.object({ server: z.string().url(), "certificate-authority-data": z.string() }),
    }),
  ),
  users: z.array(
    z.object({
      name: z.string(),
      user: z.object({ "client-certificate-data": z.string(), "client-key-data": z.string() }),
    }),
  ),
});

/** The server and client TLS material of a kubeconfig written by writeKubeconfig. */
export function readKubeconfigEndpoint(file: string): {
  server: string;
  tls: Required<Omit<ProbeTls, "insecure">>;
} {
  const config = KubeconfigSchema.parse(parse(readFileSync(file, "utf8")));
  const context = config.contexts.find((c) => c.name === config["current-context"])?.context;
  const cluster = config.clusters.find((c) => c.name === context?.cluster)?.cluster;
  const user = config.users.find((u) => u.name === context?.user)?.user;
  if (!cluster || !user) throw new Error(`${file}: current context has no cluster or user`);
  const buf = (data: string): Buffer => Buffer.from(data, "base64");
  return {
    server: cluster.server,
    tls: {
      ca: buf(cluster["certificate-authority-data"]),
      cert: buf(user["client-certificate-data"]),
      key: buf(user["client-key-data"]),
    },
  };
}
