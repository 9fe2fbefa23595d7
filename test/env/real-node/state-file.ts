// real-node/state.json: what `env:up --real-node` started and what the host
// looked like before, written before anything is changed so that env:down can
// undo an interrupted start too.
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { z } from "zod";
import { HostSnapshotSchema } from "./host-state.js";
import { REAL_NODE } from "./layout.js";

export const RealNodeStateSchema = z.object({
  /** The apiserver the node joined; a new environment means a new node. */
  apiserver: z.string(),
  host: HostSnapshotSchema,
  pids: z.record(z.string(), z.number().int()).default({}),
  /** Set once the node is Ready and the pod-reachable servers answer. */
  ready: z.boolean().default(false),
  nodeName: z.string(),
  kubeletPort: z.number().int().optional(),
  /** NATS and MinIO on the bridge address, for pods and the e2e. */
  natsUrl: z.string().optional(),
  natsMonitorUrl: z.string().optional(),
  s3: z
    .object({
      endpoint: z.string(),
      region: z.string(),
      accessKeyId: z.string(),
      secretAccessKey: z.string(),
      bucket: z.string(),
      forcePathStyle: z.boolean(),
    })
    .optional(),
});
export type RealNodeState = z.infer<typeof RealNodeStateSchema>;

export function readRealNodeState(): RealNodeState | undefined {
  if (!existsSync(REAL_NODE.stateFile)) return undefined;
  return RealNodeStateSchema.parse(JSON.parse(readFileSync(REAL_NODE.stateFile, "utf8")));
}

export function writeRealNodeState(state: RealNodeState): void {
  const tmp = `${REAL_NODE.stateFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(RealNodeStateSchema.parse(state), null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, REAL_NODE.stateFile);
}
