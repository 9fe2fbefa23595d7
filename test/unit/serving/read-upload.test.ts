import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { describe, it } from "node:test";
import { bodyReservation } from "../../../serving/read-upload.js";

const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;

describe("what a body reserves of the upload budget", () => {
  it("its Content-Length when it declares one and is not compressed", () => {
    assert.equal(bodyReservation(request({ "content-length": "12345" }), 1_000_000), 12345);
  });

  it("the whole limit when the length is unknown or the body is compressed (it may grow to the limit)", () => {
    assert.equal(bodyReservation(request({}), 1_000_000), 1_000_000);
    assert.equal(
      bodyReservation(request({ "content-length": "100", "content-encoding": "gzip" }), 1_000_000),
      1_000_000,
    );
  });

  it("refuses a declared length over the limit before reading, and encodings it cannot read", () => {
    assert.throws(
      () => bodyReservation(request({ "content-length": "1000001" }), 1_000_000),
      /larger than the limit of 1000000 bytes/,
    );
    assert.throws(
      () => bodyReservation(request({ "content-encoding": "br" }), 1_000_000),
      /Content-Encoding br is not supported/,
    );
  });
});
