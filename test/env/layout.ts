// Where the test environment keeps its state under ENV_DIR (.stylekube/).
// Only these folders are wiped on a fresh start: other tools may keep files
// of their own in ENV_DIR.
import { join } from "node:path";
import { ENV_DIR, ENV_FILE } from "./env-file.js";

export const LAYOUT = {
  envFile: ENV_FILE,
  lockFile: join(ENV_DIR, "env.lock"),
  /** pids of servers started by an env:up that has not written env.json (yet, or ever). */
  startingPidsFile: join(ENV_DIR, "starting-pids.json"),
  kubeconfig: join(ENV_DIR, "kubeconfig"),
  /** Links to every built tool (TestEnv.binDir). */
  binDir: join(ENV_DIR, "bin"),
  logsDir: join(ENV_DIR, "logs"),
  /** Certificates, keys and the kubeconfigs of the control-plane components. */
  pkiDir: join(ENV_DIR, "pki"),
  /** Config files written for the servers. */
  configDir: join(ENV_DIR, "config"),
  /** Sockets (the testcontainers provider's podman API). */
  runDir: join(ENV_DIR, "run"),
  /** Server data (etcd, MinIO, NATS). */
  dataDir: join(ENV_DIR, "data"),
} as const;

/** Folders that belong to one incarnation of the environment. */
export const EPHEMERAL_DIRS = [
  LAYOUT.pkiDir,
  LAYOUT.configDir,
  LAYOUT.dataDir,
  LAYOUT.runDir,
  LAYOUT.logsDir,
  LAYOUT.binDir,
];

export function logFile(name: string): string {
  return join(LAYOUT.logsDir, `${name}.log`);
}
