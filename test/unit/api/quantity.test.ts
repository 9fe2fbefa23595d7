import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { quantityValue } from "../../../common/api/fields.js";

describe("Kubernetes quantities", () => {
  it("read as the number they stand for", () => {
    for (const [q, v] of [
      ["4", 4],
      ["500m", 0.5],
      ["1.5", 1.5],
      ["2k", 2000],
      ["16Gi", 16 * 2 ** 30],
      ["3e2", 300],
    ] as const) {
      assert.equal(quantityValue(q), v, q);
    }
  });

  it("that are not quantities read as NaN", () => {
    for (const q of ["", "four", "1.5.2", "-1", "2 Gi", "5mm"]) assert.ok(Number.isNaN(quantityValue(q)), q);
  });
});
