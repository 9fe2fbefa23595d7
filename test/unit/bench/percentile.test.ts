import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { percentile } from "../../../bench/support/percentile.js";

describe("benchmark percentiles (nearest rank)", () => {
  it("picks the smallest value with at least p % at or below it, whatever the order", () => {
    const values = [7, 1, 9, 3, 5, 2, 8, 4, 10, 6];
    assert.equal(percentile(values, 50), 5);
    assert.equal(percentile(values, 90), 9);
    assert.equal(percentile(values, 99), 10);
    assert.equal(percentile(values, 100), 10);
    assert.equal(percentile(values, 1), 1);
    assert.deepEqual(values, [7, 1, 9, 3, 5, 2, 8, 4, 10, 6], "the input is not reordered");
  });

  it("is NaN for no values", () => {
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});
