// Server-side apply of YAML manifests, as `kubectl apply --server-side` does.
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";

export async function applyManifests(kc: k8s.KubeConfig, files: string[], namespace?: string): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const file of files) {
    for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
      const obj = doc.toJSON() as k8s.KubernetesObject | null;
      if (!obj) continue;
      if (namespace && obj.kind === "ServiceAccount" && !obj.metadata?.namespace) {
        obj.metadata = { ...obj.metadata, namespace };
      }
      await api.patch(obj, undefined, undefined, "stylekube-tests", true, k8s.PatchStrategy.ServerSideApply);
    }
  }
}
