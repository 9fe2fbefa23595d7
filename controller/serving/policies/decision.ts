// What the StyleServer policies decide from what they observe. Inputs: the
// validated spec, the status as last written, what exists under each name
// the server's objects need (and whose it is), the server's Deployment and
// the engine its replicas report, and the clock. Output: the next status,
// the events that announce its transitions and the actions that carry it
// out. The reconciler writes the status first (guarded by its
// resourceVersion) and only when that write succeeded emits the events and
// performs the actions.
import type * as k8s from "@kubernetes/client-node";
import type {
  ServerConditionType,
  ServerEventReasonType,
  ServerReasonType,
  StyleServer,
  StyleServerStatus,
} from "../../../common/api/index.js";
import type { ControllerConfig } from "../../config.js";
import { DecisionRecord, type DecisionEvent, type ObservedObject } from "../../kube/decision-record.js";
import type { Occupant } from "../ownership.js";

/** The objects a StyleServer becomes; they share one name (`<server>-server`). */
export type ServerObjectKind = "Deployment" | "Service" | "PodDisruptionBudget" | "HorizontalPodAutoscaler";

/** What every policy sees, valid spec or not. */
export interface ObservedServer extends ObservedObject<StyleServerStatus> {
  /** What exists under the name of each object (absent: nothing; not read for an invalid spec). */
  occupants: Partial<Record<ServerObjectKind, Occupant>>;
  /** The Deployment as it is now, when this server controls it. */
  deployment?: k8s.V1Deployment;
  /** The engine(s) the ready replicas report, when known. */
  engine?: string;
}

export interface ServerFacts extends ObservedServer {
  server: StyleServer;
  config: ControllerConfig;
}

export type ServerEvent = DecisionEvent<ServerEventReasonType>;

export type ServerAction =
  /** Server-side apply this object (create it, or update the fields the operator manages). */
  | { kind: "apply"; object: k8s.KubernetesObject }
  /** Delete the server's HPA: autoscaling was dropped. Only the object with this uid. */
  | { kind: "deleteAutoscaler"; name: string; uid: string };

/** The StyleServer's decision: the shared record with its conditions, reasons, events and actions. */
export class ServerDecision extends DecisionRecord<
  StyleServerStatus,
  ServerAction,
  ServerConditionType,
  ServerReasonType,
  ServerEventReasonType
> {}
