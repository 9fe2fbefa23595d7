import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { packageVersion } from "../../../common/package-version.js";
import { ControllerMetrics } from "../../../controller/metrics.js";

describe("ControllerMetrics", () => {
  it("exposes the standard process metrics under their standard names, and build_info", async () => {
    const text = await new ControllerMetrics().registry.metrics();
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.doesNotMatch(text, /stylekube_controller_process/);
    assert.ok(
      text.includes(`stylekube_build_info{version="${packageVersion()}",nodejs="${process.version}"} 1`),
      text
        .split("\n")
        .filter((l) => l.includes("build_info"))
        .join("\n"),
    );
  });
});
