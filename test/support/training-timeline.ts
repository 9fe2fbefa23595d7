// Records every version of one StyleTraining and of its worker pods from two
// watches on the real apiserver, so a test can replay what the status said at
// the moment anything happened to a pod. One etcd orders every write, so the
// resourceVersions of the two watches interleave into one timeline (true of
// the test environment; Kubernetes calls resourceVersions opaque).
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION, type StyleTrainingStatus } from "../../common/api/index.js";

interface TimelineEntry {
  rv: number;
  kind: "training" | "pod";
  type: string;
  name: string;
  status?: StyleTrainingStatus;
  pod?: k8s.V1Pod;
}

export interface TimelineViolation {
  rv: number;
  what: string;
}

const ATTEMPT = "stylekube.io/attempt";

export class TrainingTimeline {
  private readonly entries: TimelineEntry[] = [];
  private readonly watches: AbortController[] = [];

  private constructor() {}

  /** Start both watches from `now`; call before creating the training. */
  static async start(kc: k8s.KubeConfig, namespace: string, name: string): Promise<TrainingTimeline> {
    const t = new TrainingTimeline();
    const watch = new k8s.Watch(kc);
    const record = (kind: TimelineEntry["kind"]) => (type: string, obj: unknown) => {
      const o = obj as { metadata?: k8s.V1ObjectMeta; status?: unknown };
      const rv = Number(o.metadata?.resourceVersion);
      if (type === "BOOKMARK" || type === "ERROR" || !Number.isFinite(rv)) return;
      t.entries.push({
        rv,
        kind,
        type,
        name: o.metadata?.name ?? "",
        ...(kind === "training"
          ? { status: (o.status ?? {}) as StyleTrainingStatus }
          : { pod: obj as k8s.V1Pod }),
      });
    };
    t.watches.push(
      await watch.watch(
        `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/styletrainings`,
        { fieldSelector: `metadata.name=${name}` },
        record("training"),
        () => undefined,
      ),
      await watch.watch(
        `/api/v1/namespaces/${namespace}/pods`,
        { labelSelector: `stylekube.io/training=${name}` },
        record("pod"),
        () => undefined,
      ),
    );
    return t;
  }

  stop(): void {
    for (const w of this.watches) w.abort();
  }

  get length(): number {
    return this.entries.length;
  }

  /**
   * What the status claimed that the pods contradict, in resourceVersion order:
   * - a pod of the attempt the status calls current was deleted by someone
   *   other than `deletedByTest` while the status still said the attempt goes
   *   on (the operator acted before recording its decision);
   * - the status said Running with r ready workers while fewer than r pods of
   *   its attempt existed at all.
   */
  violations(deletedByTest: ReadonlySet<string> = new Set()): TimelineViolation[] {
    const sorted = [...this.entries].sort((a, b) => a.rv - b.rv);
    const pods = new Map<string, k8s.V1Pod>();
    const deleting = new Set<string>();
    let status: StyleTrainingStatus = {};
    const out: TimelineViolation[] = [];
    const ongoing = () => ["Pending", "Running", "Restarting"].includes(status.phase ?? "");
    for (const e of sorted) {
      if (e.kind === "training") {
        status = e.status ?? {};
      } else if (e.type === "DELETED") {
        pods.delete(e.name);
      } else {
        pods.set(e.name, e.pod!);
        if (e.pod!.metadata?.deletionTimestamp && !deleting.has(e.name)) {
          deleting.add(e.name);
          const attempt = Number(e.pod!.metadata.labels?.[ATTEMPT]);
          if (!deletedByTest.has(e.name) && ongoing() && attempt === status.attempt) {
            out.push({
              rv: e.rv,
              what: `${e.name} was deleted while status said ${status.phase}, attempt ${status.attempt}`,
            });
          }
        }
      }
      if (status.phase === "Running") {
        const existing = [...pods.values()].filter(
          (p) => Number(p.metadata?.labels?.[ATTEMPT]) === status.attempt,
        ).length;
        const ready = status.workers?.ready ?? 0;
        if (existing < ready) {
          out.push({
            rv: e.rv,
            what: `status said Running, ${ready} ready in attempt ${status.attempt}, while ${existing} of its pods existed`,
          });
        }
      }
    }
    return out;
  }
}
