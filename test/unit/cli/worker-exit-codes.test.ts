// `stylekube worker` as a pod runs it: a worker environment that does not
// parse (here a spec with an invalid field) would fail the same way on every
// attempt, so the worker exits with the permanent code and leaves a
// termination message naming the variable and the field.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { WORKER_ENV } from "../../../common/worker-env.js";
import { PERMANENT_FAILURE_EXIT_CODE, readTerminationMessage } from "../../../common/worker-exit.js";
import { runStylekube } from "../../support/stylekube-cli.js";

describe("stylekube worker exit codes", () => {
  it("an invalid spec in the environment: the permanent exit code and a message naming the field", async () => {
    const messageFile = join(mkdtempSync(join(tmpdir(), "stylekube-worker-exit-")), "termination-log");
    const spec = {
      style: "s3://art/mosaic.jpg",
      dataset: "s3://photos/coco256/",
      output: "s3://models/mosaic/",
      hyperparameters: { imageSize: 250 },
    };
    const result = await runStylekube(["worker"], {
      ...process.env,
      [WORKER_ENV.jobId]: "job-1",
      [WORKER_ENV.namespace]: "ns",
      [WORKER_ENV.name]: "mosaic",
      [WORKER_ENV.attempt]: "1",
      [WORKER_ENV.rank]: "0",
      [WORKER_ENV.worldSize]: "1",
      [WORKER_ENV.spec]: JSON.stringify(spec),
      [WORKER_ENV.natsUrl]: "nats://127.0.0.1:4222",
      [WORKER_ENV.terminationMessagePath]: messageFile,
    });
    assert.equal(result.code, PERMANENT_FAILURE_EXIT_CODE, result.stdout + result.stderr);
    const message = readTerminationMessage(messageFile);
    assert.match(message ?? "", /STYLEKUBE_SPEC \(hyperparameters\.imageSize\): .*multiple of 4/);
  });
});
