// An Informer over one of our own kinds (stylekube.io/v1alpha1), in one
// namespace or all of them.
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION } from "../../common/api/index.js";
import type { Logger } from "../../common/log/logger.js";
import { Informer, type ListResult, type ObjectWithMeta } from "./informer.js";

export function customResourceInformer<T extends ObjectWithMeta>(opts: {
  kc: k8s.KubeConfig;
  plural: string;
  /** Empty: all namespaces. */
  namespace: string;
  resyncMs: number;
  log: Logger;
}): Informer<T> {
  const { kc, plural, namespace } = opts;
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const group = { group: GROUP, version: VERSION, plural };
  return new Informer<T>({
    kc,
    path: namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${plural}`
      : `/apis/${GROUP}/${VERSION}/${plural}`,
    list: async () =>
      (namespace
        ? await custom.listNamespacedCustomObject({ ...group, namespace })
        : await custom.listClusterCustomObject(group)) as ListResult<T>,
    resyncMs: opts.resyncMs,
    log: opts.log.child({ informer: plural }),
  });
}
