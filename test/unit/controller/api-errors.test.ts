// The apiserver answers the controllers carry on from: 404 and 409 are
// swallowed by their helper, everything else (other codes, other errors)
// still propagates.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import {
  ignoreConflict,
  ignoreNotFound,
  isConflict,
  isNotFound,
} from "../../../controller/kube/api-errors.js";

const api = (code: number) => new k8s.ApiException(code, `HTTP ${code}`, {}, {});

describe("api-errors", () => {
  it("tells 404 and 409 apart from other answers", () => {
    assert.equal(isNotFound(api(404)), true);
    assert.equal(isNotFound(api(409)), false);
    assert.equal(isConflict(api(409)), true);
    assert.equal(isConflict(api(404)), false);
    // Only an apiserver answer counts, not any error that happens to carry a code.
    assert.equal(isNotFound(Object.assign(new Error("x"), { code: 404 })), false);
  });

  it("ignoreNotFound turns a 404 into undefined and rethrows the rest", async () => {
    assert.equal(await Promise.reject(api(404)).catch(ignoreNotFound), undefined);
    for (const err of [api(409), api(500), new Error("socket hang up")])
      await assert.rejects(Promise.reject(err).catch(ignoreNotFound), (e) => e === err);
  });

  it("ignoreConflict turns a 409 into undefined and rethrows the rest", async () => {
    assert.equal(await Promise.reject(api(409)).catch(ignoreConflict), undefined);
    for (const err of [api(404), api(422)])
      await assert.rejects(Promise.reject(err).catch(ignoreConflict), (e) => e === err);
  });
});
