// A throwaway PKI for the test control plane, made with the openssl CLI:
// one CA, the apiserver's serving certificate, a client certificate per
// identity (admin in system:masters, the controller-manager, the scheduler,
// kwok) and the service-account token signing key pair.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface CertPair {
  cert: string;
  key: string;
}

export interface ClientIdentity {
  /** Certificate CN: the Kubernetes user name. */
  user: string;
  /** Certificate O: the Kubernetes groups. */
  groups: string[];
}

export interface Pki {
  dir: string;
  ca: CertPair;
  apiserver: CertPair;
  clients: Record<string, CertPair>;
  serviceAccount: { privateKey: string; publicKey: string };
}

function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
}

const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-noenc"];
const DAYS = ["-days", "3650"];

/** An openssl config with the subject and the x509v3 extensions of one certificate. */
function certConfig(subject: Record<string, string[]>, extensions: string[]): string {
  const dn = Object.entries(subject).flatMap(([k, vs]) => vs.map((v, i) => `${i}.${k} = ${v}`));
  return [
    "[req]",
    "distinguished_name = dn",
    "prompt = no",
    "x509_extensions = ext",
    "[dn]",
    ...dn,
    "[ext]",
    ...extensions,
    "",
  ].join("\n");
}

function issue(dir: string, name: string, config: string, ca?: CertPair): CertPair {
  const pair = { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  const cnf = join(dir, `${name}.cnf`);
  writeFileSync(cnf, config);
  const signer = ca ? ["-CA", ca.cert, "-CAkey", ca.key] : [];
  openssl([
    "req",
    "-x509",
    "-new",
    "-config",
    cnf,
    ...EC_KEY,
    "-keyout",
    pair.key,
    "-out",
    pair.cert,
    ...DAYS,
    ...signer,
  ]);
  return pair;
}

export function createPki(
  dir: string,
  opts: { serverIps: string[]; serverDnsNames: string[]; clients: Record<string, ClientIdentity> },
): Pki {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = issue(
    dir,
    "ca",
    certConfig({ CN: ["stylekube-test-ca"] }, [
      "basicConstraints = critical, CA:TRUE",
      "keyUsage = critical, keyCertSign, cRLSign, digitalSignature",
      "subjectKeyIdentifier = hash",
    ]),
  );
  const leaf = (usage: string, extra: string[] = []): string[] => [
    "basicConstraints = critical, CA:FALSE",
    "keyUsage = critical, digitalSignature, keyEncipherment",
    `extendedKeyUsage = ${usage}`,
    "subjectKeyIdentifier = hash",
    "authorityKeyIdentifier = keyid",
    ...extra,
  ];
  const san = [...opts.serverIps.map((ip) => `IP:${ip}`), ...opts.serverDnsNames.map((d) => `DNS:${d}`)].join(
    ", ",
  );
  const apiserver = issue(
    dir,
    "apiserver",
    certConfig({ CN: ["kube-apiserver"] }, leaf("serverAuth", [`subjectAltName = ${san}`])),
    ca,
  );
  const clients: Record<string, CertPair> = {};
  for (const [name, id] of Object.entries(opts.clients)) {
    clients[name] = issue(dir, name, certConfig({ O: id.groups, CN: [id.user] }, leaf("clientAuth")), ca);
  }
  // Service-account tokens: RSA, the key type every Kubernetes component expects.
  const serviceAccount = { privateKey: join(dir, "sa.key"), publicKey: join(dir, "sa.pub") };
  openssl([
    "genpkey",
    "-algorithm",
    "RSA",
    "-pkeyopt",
    "rsa_keygen_bits:2048",
    "-out",
    serviceAccount.privateKey,
  ]);
  openssl(["pkey", "-in", serviceAccount.privateKey, "-pubout", "-out", serviceAccount.publicKey]);
  return { dir, ca, apiserver, clients, serviceAccount };
}
