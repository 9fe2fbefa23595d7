// The worker's way of saying "permanent": the termination message it writes
// (cut to what the kubelet keeps), and how the local runner reads exit codes
// and messages back into one line naming the worker.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import {
  PERMANENT_FAILURE_EXIT_CODE,
  readTerminationMessage,
  TERMINATION_MESSAGE_MAX_BYTES,
  truncateTerminationMessage,
  writeTerminationMessage,
} from "../../../common/worker-exit.js";
import { permanentFailureMessage } from "../../../trainer/local-runner.js";

describe("termination messages", () => {
  it("are written and read back; a short one unchanged", () => {
    const file = join(mkdtempSync(join(tmpdir(), "stylekube-exit-")), "w0");
    assert.equal(readTerminationMessage(file), undefined, "nothing written yet");
    writeTerminationMessage(file, "spec.style s3://b/s.jpg: not found");
    assert.equal(readTerminationMessage(file), "spec.style s3://b/s.jpg: not found");
  });

  it("are cut to the kubelet's 4096 bytes on a character boundary", () => {
    const long = "é".repeat(3000); // 6000 bytes
    const cut = truncateTerminationMessage(long);
    assert.ok(Buffer.byteLength(cut) <= TERMINATION_MESSAGE_MAX_BYTES, `${Buffer.byteLength(cut)} bytes`);
    assert.ok(Buffer.byteLength(cut) > TERMINATION_MESSAGE_MAX_BYTES - 8, "not cut more than needed");
    assert.ok(!cut.includes("\uFFFD"), "no broken character");
    assert.ok(cut.endsWith(" …"));
  });

  it("go nowhere without a path, and a path that cannot be written is no error", () => {
    assert.doesNotThrow(() => writeTerminationMessage(undefined, "x"));
    assert.doesNotThrow(() => writeTerminationMessage("/nonexistent-dir/termination-log", "x"));
  });
});

describe("permanentFailureMessage (train --local)", () => {
  const said = (rank: number) =>
    rank === 1 ? "spec.dataset s3://b/d/: no readable dataset index" : undefined;

  it("names the first worker that exited with the permanent code, in its words", () => {
    const m = permanentFailureMessage([143, PERMANENT_FAILURE_EXIT_CODE, PERMANENT_FAILURE_EXIT_CODE], said);
    assert.equal(
      m,
      "worker 1 failed with a permanent error (exit code 66): spec.dataset s3://b/d/: no readable dataset index; not retried (backoffLimit is for transient failures)",
    );
  });

  it("says where to look when the worker left no message", () => {
    assert.match(permanentFailureMessage([PERMANENT_FAILURE_EXIT_CODE], said) ?? "", /see its log above/);
  });

  it("is undefined for ordinary failures", () => {
    assert.equal(permanentFailureMessage([1, 0, 137], said), undefined);
  });
});
