import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { UploadProgress } from "../../../serving/upload-progress.js";

const limits = { minBytesPerSecond: 8192, windowMs: 10_000, timeoutMs: 120_000 };

/** Feeds `bytesPerSecond` for `seconds`, checking once a second; the first cut-off and when it came. */
function trickle(progress: UploadProgress, bytesPerSecond: number, seconds: number, from = 0) {
  for (let s = 1; s <= seconds; s++) {
    progress.received(bytesPerSecond);
    const cutOff = progress.check(from + s * 1000);
    if (cutOff) return { cutOff, atS: s };
  }
  return undefined;
}

describe("upload progress: minimum rate per window and a deadline for the whole body", () => {
  it("cuts off a client uploading at 2 KiB/s when the first window ends, naming the rate and the minimum", () => {
    const got = trickle(new UploadProgress(limits, 0), 2048, 60);
    assert.equal(got?.atS, 10);
    assert.equal(got?.cutOff.code, "upload_too_slow");
    assert.match(got?.cutOff.message ?? "", /2048 bytes\/s .* minimum of 8192 bytes\/s/);
  });

  it("keeps a client at the minimum rate or above, window after window", () => {
    assert.equal(trickle(new UploadProgress(limits, 0), 8192, 110), undefined);
  });

  it("keeps a fast client that stalls within a window, and judges each window on its own", () => {
    const progress = new UploadProgress(limits, 0);
    progress.received(200_000); // a burst, then nothing for the rest of the window
    assert.equal(progress.check(10_000), undefined);
    // The next window starts from zero: the burst does not pay for later silence.
    assert.equal(progress.check(20_000)?.code, "upload_too_slow");
  });

  it("ends the upload at the deadline however fast it is", () => {
    const got = trickle(new UploadProgress(limits, 0), 1_000_000, 200);
    assert.equal(got?.atS, 120);
    assert.equal(got?.cutOff.code, "upload_timeout");
    assert.match(got?.cutOff.message ?? "", /within 120000 ms/);
  });

  it("0 turns each rule off", () => {
    assert.equal(trickle(new UploadProgress({ ...limits, minBytesPerSecond: 0 }, 0), 1, 100), undefined);
    assert.equal(
      trickle(new UploadProgress({ ...limits, timeoutMs: 0 }, 0), 1_000_000, 500),
      undefined,
      "no deadline",
    );
  });

  it("restartWindow forgets the window (a stall of this process, not of the client)", () => {
    const progress = new UploadProgress(limits, 0);
    progress.restartWindow(9_500);
    assert.equal(progress.check(10_000), undefined, "only 500 ms into the new window");
    progress.received(100_000);
    assert.equal(progress.check(19_500), undefined);
  });
});
