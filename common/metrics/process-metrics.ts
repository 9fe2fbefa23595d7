// The metrics every stylekube process exposes besides its own: prom-client's
// default process and Node.js metrics, and stylekube_build_info. The operator
// and the model server both register them through here, so a Grafana
// dashboard or alert written for one works on the other.
import { collectDefaultMetrics, Gauge, type Registry } from "prom-client";
import { packageVersion } from "../package-version.js";

export const BUILD_INFO_METRIC = "stylekube_build_info";

/**
 * Registers the default metrics without a prefix (process_cpu_seconds_total,
 * nodejs_heap_size_used_bytes, … are the names stock Node.js and process
 * dashboards query) and `stylekube_build_info{version, nodejs} 1`, the usual
 * build_info pattern: the value is always 1, the labels say what runs.
 */
export function registerProcessMetrics(
  registry: Registry,
  version: string = packageVersion(),
): Gauge<"version" | "nodejs"> {
  collectDefaultMetrics({ register: registry });
  const buildInfo = new Gauge({
    name: BUILD_INFO_METRIC,
    help: "Version of the running stylekube process and of Node.js, as labels; the value is 1.",
    labelNames: ["version", "nodejs"] as const,
    registers: [registry],
  });
  buildInfo.set({ version, nodejs: process.version }, 1);
  return buildInfo;
}
