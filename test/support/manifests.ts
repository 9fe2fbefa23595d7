// Server-side apply of YAML manifests, as `kubectl apply --server-side` does.
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";

export async function applyManifests(kc: k8s.KubeConfig, files: string[], namespace?: string): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const file of files) {
    // loadAllYaml turns YAML keys into the client's typed models (whose names
    // differ in places, e.g. `default` vs `_default`); its serializer drops
    // keys it does not know, so raw YAML objects must not be sent as they are.
    const docs = k8s.loadAllYaml(readFileSync(file, "utf8")) as (k8s.KubernetesObject | null)[];
    for (const obj of docs) {
      if (!obj) continue;
      if (namespace && obj.kind === "ServiceAccount" && !obj.metadata?.namespace) {
        obj.metadata = { ...obj.metadata, namespace };
      }
      await api.patch(obj, undefined, undefined, "stylekube-tests", true, k8s.PatchStrategy.ServerSideApply);
    }
  }
}
