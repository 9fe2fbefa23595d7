// What a StyleServer becomes: a Deployment of the model server, a Service in
// front of it, and (with spec.autoscaling) an HPA that scales the StyleServer
// itself through its scale subresource — so `kubectl scale`, the HPA and the
// dashboard all move the same number, spec.replicas.
import type * as k8s from "@kubernetes/client-node";
import { API_VERSION, type StyleServer } from "../../common/api/index.js";
import { WORKER_ENV } from "../../common/worker-env.js";
import type { ControllerConfig } from "../config.js";
import { gpuPodFields, podImage } from "../gpu-pods.js";
import { serverLabels, serverObjectName } from "../../common/api/owned-objects.js";
import { serverOwnerReference } from "./ownership.js";

export const SERVER_PORT = 8080;

/** Environment variable with the served styles (name → model URI), read by `stylekube serve`. */
export const STYLES_ENV = "STYLEKUBE_STYLES";

/** The served styles as the pods get them (STYLES_ENV): style name → model URI, as JSON. */
export function stylesEnvValue(server: StyleServer): string {
  return JSON.stringify(
    Object.fromEntries(Object.entries(server.spec.styles).map(([style, s]) => [style, s.modelURI])),
  );
}

/** The served styles of a Deployment's pod template; undefined when it sets none. */
export function templateStyles(deployment: k8s.V1Deployment): string | undefined {
  return deployment.spec?.template?.spec?.containers?.[0]?.env?.find((e) => e.name === STYLES_ENV)?.value;
}

export function buildDeployment(server: StyleServer, config: ControllerConfig): k8s.V1Deployment {
  const name = server.metadata.name!;
  const { spec } = server;
  const labels = serverLabels(name);
  const storage = spec.storage;
  const env: k8s.V1EnvVar[] = [
    // A changed style set changes the pod template, which rolls the
    // Deployment one pod at a time; readiness (all styles loaded) gates each step.
    { name: STYLES_ENV, value: stylesEnvValue(server) },
    { name: "STYLEKUBE_ENGINE", value: spec.engine },
    { name: "STYLEKUBE_HTTP_PORT", value: String(SERVER_PORT) },
    // Styles come from the StyleServer spec only; no one may change them behind the operator's back.
    { name: "STYLEKUBE_ADMIN_API", value: "false" },
  ];
  const endpoint = storage?.endpoint ?? config.STYLEKUBE_S3_ENDPOINT;
  if (endpoint) env.push({ name: WORKER_ENV.s3Endpoint, value: endpoint });
  const pathStyle = storage?.forcePathStyle ?? config.STYLEKUBE_S3_FORCE_PATH_STYLE;
  if (pathStyle !== undefined) env.push({ name: WORKER_ENV.s3ForcePathStyle, value: String(pathStyle) });
  env.push({ name: WORKER_ENV.region, value: storage?.region ?? config.STYLEKUBE_S3_REGION });
  const secret = storage?.secretName ?? config.STYLEKUBE_STORAGE_SECRET;
  if (secret) {
    env.push(
      {
        name: WORKER_ENV.accessKeyId,
        valueFrom: { secretKeyRef: { name: secret, key: "AWS_ACCESS_KEY_ID" } },
      },
      {
        name: WORKER_ENV.secretAccessKey,
        valueFrom: { secretKeyRef: { name: secret, key: "AWS_SECRET_ACCESS_KEY" } },
      },
    );
  }
  const res = spec.resources;
  const requests: Record<string, string> = { cpu: res.cpu, memory: res.memory };
  const limits: Record<string, string> = { memory: res.memory };
  if (res.gpu > 0) requests[res.gpuResourceName] = limits[res.gpuResourceName] = String(res.gpu);
  const probe = (path: string, periodSeconds: number): k8s.V1Probe => ({
    httpGet: { path, port: "http" },
    periodSeconds,
    timeoutSeconds: 2,
    failureThreshold: 3,
  });

  return {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: serverObjectName(name),
      namespace: server.metadata.namespace,
      labels,
      ownerReferences: [serverOwnerReference(server)],
    },
    spec: {
      replicas: spec.replicas,
      selector: { matchLabels: labels },
      // Never fewer ready servers than asked for while a new model rolls out.
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels,
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(SERVER_PORT),
            "prometheus.io/path": "/metrics",
          },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: {
            runAsNonRoot: true,
            runAsUser: 1000,
            runAsGroup: 1000,
            seccompProfile: { type: "RuntimeDefault" },
          },
          containers: [
            {
              name: "server",
              image: podImage(res, spec.image, {
                plain: config.STYLEKUBE_SERVER_IMAGE,
                cuda: config.STYLEKUBE_SERVER_CUDA_IMAGE,
              }),
              args: ["serve"],
              ports: [{ name: "http", containerPort: SERVER_PORT }],
              env,
              resources: { requests, limits },
              // Ready only once every configured style is loaded (kserve#2882).
              readinessProbe: probe("/v2/health/ready", 5),
              livenessProbe: probe("/v2/health/live", 10),
              startupProbe: { ...probe("/v2/health/live", 5), failureThreshold: 60 },
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ["ALL"] },
              },
              volumeMounts: [{ name: "tmp", mountPath: "/tmp" }],
            },
          ],
          volumes: [{ name: "tmp", emptyDir: {} }],
          ...gpuPodFields(res, config.STYLEKUBE_GPU_RUNTIME_CLASS),
        },
      },
    },
  };
}

export function buildService(server: StyleServer): k8s.V1Service {
  const name = server.metadata.name!;
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      name: serverObjectName(name),
      namespace: server.metadata.namespace,
      labels: serverLabels(name),
      ownerReferences: [serverOwnerReference(server)],
    },
    spec: {
      selector: serverLabels(name),
      ports: [{ name: "http", port: 80, targetPort: "http" }],
    },
  };
}

export function buildAutoscaler(server: StyleServer): k8s.V2HorizontalPodAutoscaler | undefined {
  const a = server.spec.autoscaling;
  if (!a) return undefined;
  const name = server.metadata.name!;
  const metrics: k8s.V2MetricSpec[] = [];
  if (a.targetCPUUtilizationPercentage !== undefined) {
    metrics.push({
      type: "Resource",
      resource: {
        name: "cpu",
        target: { type: "Utilization", averageUtilization: a.targetCPUUtilizationPercentage },
      },
    });
  }
  if (a.targetConcurrency !== undefined) {
    // Served by the server's stylekube_inflight_requests gauge through a
    // custom-metrics adapter (e.g. prometheus-adapter).
    metrics.push({
      type: "Pods",
      pods: {
        metric: { name: "stylekube_inflight_requests" },
        target: { type: "AverageValue", averageValue: String(a.targetConcurrency) },
      },
    });
  }
  return {
    apiVersion: "autoscaling/v2",
    kind: "HorizontalPodAutoscaler",
    metadata: {
      name: serverObjectName(name),
      namespace: server.metadata.namespace,
      labels: serverLabels(name),
      ownerReferences: [serverOwnerReference(server)],
    },
    spec: {
      scaleTargetRef: { apiVersion: API_VERSION, kind: "StyleServer", name },
      minReplicas: a.minReplicas,
      maxReplicas: a.maxReplicas,
      metrics,
    },
  };
}
