import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Admission } from "../../../serving/admission.js";

describe("admission budgets", () => {
  it("tickets: one each up to the capacity, then refusals until one is released", () => {
    const tickets = new Admission(2);
    const a = tickets.tryEnter();
    const b = tickets.tryEnter();
    assert.ok(a && b);
    assert.equal(tickets.tryEnter(), undefined);
    a();
    a(); // idempotent: a second release frees nothing more
    assert.equal(tickets.admitted, 1);
    assert.ok(tickets.tryEnter());
    assert.equal(tickets.tryEnter(), undefined);
  });

  it("bytes: a reservation that does not fit in what is left is refused, a smaller one still fits", () => {
    const bytes = new Admission(1000);
    const big = bytes.tryEnter(700);
    assert.ok(big);
    assert.equal(bytes.tryEnter(301), undefined);
    const small = bytes.tryEnter(300);
    assert.ok(small);
    assert.equal(bytes.admitted, 1000);
    big();
    assert.equal(bytes.admitted, 300);
    assert.ok(bytes.tryEnter(700));
  });
});
