// The security settings of every pod the operator builds (training workers,
// model servers): restricted Pod Security, a non-root identity the chart
// chooses (or none, where the platform assigns one), nothing writable but an
// emptyDir at /tmp whose size is capped.
import type * as k8s from "@kubernetes/client-node";
import type { ControllerConfig } from "./config.js";

/** The pod-level securityContext: non-root, RuntimeDefault seccomp, and the configured ids. */
export function podSecurityContext(config: ControllerConfig): k8s.V1PodSecurityContext {
  const ids: k8s.V1PodSecurityContext = {};
  if (config.STYLEKUBE_RUN_AS_USER !== undefined) ids.runAsUser = config.STYLEKUBE_RUN_AS_USER;
  if (config.STYLEKUBE_RUN_AS_GROUP !== undefined) ids.runAsGroup = config.STYLEKUBE_RUN_AS_GROUP;
  if (config.STYLEKUBE_FS_GROUP !== undefined) ids.fsGroup = config.STYLEKUBE_FS_GROUP;
  return { runAsNonRoot: true, ...ids, seccompProfile: { type: "RuntimeDefault" } };
}

/** The container-level securityContext: no privilege escalation, a read-only root, no capabilities. */
export function containerSecurityContext(): k8s.V1SecurityContext {
  return {
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
  };
}

/** The one writable path, /tmp: an emptyDir no larger than the pod's ephemeral-storage limit. */
export const TMP_VOLUME_NAME = "tmp";
export function tmpVolume(sizeLimit: string): k8s.V1Volume {
  return { name: TMP_VOLUME_NAME, emptyDir: { sizeLimit } };
}
export const TMP_MOUNT: k8s.V1VolumeMount = { name: TMP_VOLUME_NAME, mountPath: "/tmp" };
