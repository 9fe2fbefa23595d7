// The process metrics both components expose come from one helper, under the
// same names: a dashboard or alert written for the operator works on the
// model server and the other way round.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Registry } from "prom-client";
import { BUILD_INFO_METRIC, registerProcessMetrics } from "../../../common/metrics/process-metrics.js";
import { packageVersion } from "../../../common/package-version.js";
import { ControllerMetrics } from "../../../controller/metrics.js";
import { ServerMetrics } from "../../../serving/metrics.js";

/** Metric names of a registry's exposition, excluding the component's own stylekube_* metrics. */
async function processMetricNames(registry: Registry): Promise<string[]> {
  const names = (await registry.getMetricsAsJSON()).map((m) => m.name);
  return names.filter((n) => !n.startsWith("stylekube_") || n === BUILD_INFO_METRIC).sort();
}

const serverMetrics = () =>
  new ServerMetrics({
    inflight: () => 0,
    uploadBytes: () => 0,
    queued: () => 0,
    stylesLoaded: () => 0,
    ready: () => false,
    healthyWorkers: () => 0,
  });

describe("registerProcessMetrics", () => {
  it("exposes the standard process metrics under their standard names, and build_info", async () => {
    const registry = new Registry();
    registerProcessMetrics(registry, "9.8.7");
    const text = await registry.metrics();
    assert.match(text, /^process_cpu_seconds_total /m);
    assert.match(text, /^process_resident_memory_bytes /m);
    assert.match(text, /^nodejs_heap_size_used_bytes /m);
    assert.doesNotMatch(text, /^stylekube_\w*(process|nodejs)_/m);
    assert.ok(
      text.includes(`stylekube_build_info{version="9.8.7",nodejs="${process.version}"} 1`),
      text
        .split("\n")
        .filter((l) => l.includes("build_info"))
        .join("\n"),
    );
  });

  it("is what the operator and the model server both expose, with the package version", async () => {
    const controller = new ControllerMetrics().registry;
    const server = serverMetrics().registry;
    const names = await processMetricNames(controller);
    assert.ok(names.includes("process_cpu_seconds_total") && names.includes(BUILD_INFO_METRIC), names.join());
    assert.deepEqual(await processMetricNames(server), names);
    for (const registry of [controller, server])
      assert.ok(
        (await registry.metrics()).includes(
          `stylekube_build_info{version="${packageVersion()}",nodejs="${process.version}"} 1`,
        ),
      );
  });
});
