import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getCondition, setCondition } from "../../../controller/kube/conditions.js";

describe("setCondition", () => {
  const t0 = new Date("2026-01-01T00:00:00Z");
  const t1 = new Date("2026-01-01T00:05:00Z");

  it("adds a condition with a transition time and generation", () => {
    const c = setCondition(
      undefined,
      { type: "Running", status: "True", reason: "AllWorkersReady", message: "2 of 2" },
      3,
      t0,
    );
    assert.deepEqual(c, [
      {
        type: "Running",
        status: "True",
        reason: "AllWorkersReady",
        message: "2 of 2",
        lastTransitionTime: t0.toISOString(),
        observedGeneration: 3,
      },
    ]);
  });

  it("keeps lastTransitionTime when only the message changes", () => {
    const a = setCondition(undefined, { type: "Running", status: "True", reason: "R", message: "1" }, 1, t0);
    const b = setCondition(a, { type: "Running", status: "True", reason: "R", message: "2" }, 2, t1);
    assert.equal(getCondition(b, "Running")?.lastTransitionTime, t0.toISOString());
    assert.equal(getCondition(b, "Running")?.message, "2");
    assert.equal(b.length, 1);
  });

  it("moves lastTransitionTime when the status flips", () => {
    const a = setCondition(undefined, { type: "Running", status: "True", reason: "R", message: "" }, 1, t0);
    const b = setCondition(
      a,
      { type: "Running", status: "False", reason: "WorkerFailed", message: "" },
      1,
      t1,
    );
    assert.equal(getCondition(b, "Running")?.lastTransitionTime, t1.toISOString());
  });
});
