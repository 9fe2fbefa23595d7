// Prometheus metrics of the model server, on /metrics. The in-flight gauge
// is the HPA's custom metric (StyleServer.spec.autoscaling.targetConcurrency,
// see controller/serving/server-resources.ts): keep its name.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { registerProcessMetrics } from "../common/metrics/process-metrics.js";

const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface MetricSources {
  inflight(): number;
  uploadBytes(): number;
  queued(): number;
  stylesLoaded(): number;
  ready(): boolean;
  healthyWorkers(): number;
}

export class ServerMetrics {
  readonly registry = new Registry();

  readonly requestDuration = new Histogram({
    name: "stylekube_stylize_duration_seconds",
    help: "Time from receiving a stylize request to the last byte of its response, by style and HTTP status.",
    labelNames: ["style", "status"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly inferenceDuration = new Histogram({
    name: "stylekube_inference_duration_seconds",
    help: "Time the network takes for one image (inference thread, excluding queueing and codecs), by style.",
    labelNames: ["style"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly requests = new Counter({
    name: "stylekube_stylize_requests_total",
    help: "Stylize requests by style and HTTP status.",
    labelNames: ["style", "status"] as const,
    registers: [this.registry],
  });
  readonly errors = new Counter({
    name: "stylekube_errors_total",
    help: "Error responses by kind (the error.code of the JSON body).",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });
  readonly inferenceRestarts = new Counter({
    name: "stylekube_inference_restarts_total",
    help: "Inference workers replaced, by reason: engine_failed (a run failed; the worker is recycled) or exited.",
    labelNames: ["reason"] as const,
    registers: [this.registry],
  });
  /** 1 for the engine this server runs on (labels say which; "auto" resolved). */
  readonly engineInfo = new Gauge({
    name: "stylekube_engine_info",
    help: "The inference engine this server chose (1), by engine, backend, ONNX Runtime providers asked for and the provider that runs.",
    labelNames: ["engine", "backend", "providers", "provider"] as const,
    registers: [this.registry],
  });
  readonly modelLoads = new Counter({
    name: "stylekube_model_loads_total",
    help: "Model loads through the admin API by result.",
    labelNames: ["result"] as const,
    registers: [this.registry],
  });

  constructor(sources: MetricSources) {
    // The same process metrics and build_info as the operator, under the same names.
    registerProcessMetrics(this.registry);
    new Gauge({
      name: "stylekube_inflight_requests",
      help: "Stylize requests being handled now (queued, decoding, computing or encoding).",
      registers: [this.registry],
      collect() {
        this.set(sources.inflight());
      },
    });
    new Gauge({
      name: "stylekube_upload_bytes_in_flight",
      help: "Bytes of the upload budget (STYLEKUBE_MAX_INFLIGHT_BODY_BYTES) reserved by stylize request bodies being received or held.",
      registers: [this.registry],
      collect() {
        this.set(sources.uploadBytes());
      },
    });
    new Gauge({
      name: "stylekube_queue_depth",
      help: "Stylize requests waiting for a free inference thread.",
      registers: [this.registry],
      collect() {
        this.set(sources.queued());
      },
    });
    new Gauge({
      name: "stylekube_styles_loaded",
      help: "Styles with a loaded model.",
      registers: [this.registry],
      collect() {
        this.set(sources.stylesLoaded());
      },
    });
    new Gauge({
      name: "stylekube_healthy_workers",
      help: "Inference workers that can take a job now (engine started, models loaded).",
      registers: [this.registry],
      collect() {
        this.set(sources.healthyWorkers());
      },
    });
    new Gauge({
      name: "stylekube_ready",
      help: "1 when every configured style is loaded and an inference worker is healthy (the readiness probe passes).",
      registers: [this.registry],
      collect() {
        this.set(sources.ready() ? 1 : 0);
      },
    });
  }
}
