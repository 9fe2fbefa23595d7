// What a reconciler's pure policies produce, whatever the kind: the next
// status (conditions set with Kubernetes' transition-time rule), the events
// that announce it, the actions that carry it out and when to look again.
// The StyleTraining and StyleServer decisions are this record with their own
// vocabularies; the reconcilers write the status first and only then emit
// the events and act.
import type { Condition } from "../../common/api/index.js";
import { setCondition } from "./conditions.js";

export interface DecisionEvent<Reason extends string> {
  type: "Normal" | "Warning";
  reason: Reason;
  message: string;
}

/** What every policy observes about the object: its last written status, generation and the clock. */
export interface ObservedObject<Status> {
  /** The status as last written (never modified by the policies). */
  status: Status;
  generation: number | undefined;
  now: Date;
}

export class DecisionRecord<
  Status extends { conditions?: Condition[] | undefined },
  Action,
  ConditionType extends string,
  Reason extends string,
  EventReason extends string,
> {
  readonly status: Status;
  readonly events: DecisionEvent<EventReason>[] = [];
  readonly actions: Action[] = [];
  requeueAfterMs: number | undefined;

  constructor(private readonly observed: ObservedObject<Status>) {
    this.status = structuredClone(observed.status);
  }

  condition(type: ConditionType, status: "True" | "False", reason: Reason, message: string): void {
    this.status.conditions = setCondition(
      this.status.conditions,
      { type, status, reason, message },
      this.observed.generation,
      this.observed.now,
    );
  }

  event(type: DecisionEvent<EventReason>["type"], reason: EventReason, message: string): void {
    this.events.push({ type, reason, message });
  }

  act(action: Action): void {
    this.actions.push(action);
  }

  /** Come back after `ms`; the earliest of several requests wins. */
  requeueAfter(ms: number): void {
    const at = Math.max(0, ms);
    this.requeueAfterMs = this.requeueAfterMs === undefined ? at : Math.min(this.requeueAfterMs, at);
  }
}
