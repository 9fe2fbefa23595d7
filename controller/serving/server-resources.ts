// What a StyleServer becomes: a Deployment of the model server, a Service in
// front of it, a PodDisruptionBudget, and (with spec.autoscaling) an HPA that scales the StyleServer
// itself through its scale subresource — so `kubectl scale`, the HPA and the
// dashboard all move the same number, spec.replicas.
import type * as k8s from "@kubernetes/client-node";
import { API_VERSION, type StyleServer } from "../../common/api/index.js";
import { serverClientLimitsEnv } from "../../common/server-client-limits.js";
import { WORKER_ENV } from "../../common/worker-env.js";
import type { ControllerConfig } from "../config.js";
import { gpuPodFields, podImage } from "../gpu-pods.js";
import { serverLabels, serverObjectName } from "../../common/api/owned-objects.js";
import { serverOwnerReference } from "./ownership.js";
import { containerSecurityContext, podSecurityContext, TMP_MOUNT, tmpVolume } from "../pod-security.js";

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

/**
 * Where the server pods run: spec.template's placement, and by default a soft
 * spread over nodes, so one node's loss or drain takes as few replicas as the
 * cluster allows.
 */
export function serverPlacement(server: StyleServer): Partial<k8s.V1PodSpec> {
  const t = server.spec.template?.spec;
  const spread: k8s.V1TopologySpreadConstraint[] = (t?.topologySpreadConstraints as
    k8s.V1TopologySpreadConstraint[] | undefined) ?? [
    {
      maxSkew: 1,
      topologyKey: "kubernetes.io/hostname",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: serverLabels(server.metadata.name!) },
    },
  ];
  const placement: Partial<k8s.V1PodSpec> = { topologySpreadConstraints: spread };
  if (t?.nodeSelector) placement.nodeSelector = t.nodeSelector;
  if (t?.tolerations) placement.tolerations = t.tolerations as k8s.V1Toleration[];
  if (t?.affinity) placement.affinity = t.affinity as k8s.V1Affinity;
  if (t?.priorityClassName) placement.priorityClassName = t.priorityClassName;
  return placement;
}

export function buildDeployment(server: StyleServer, config: ControllerConfig): k8s.V1Deployment {
  const name = server.metadata.name!;
  const { spec } = server;
  const labels = serverLabels(name);
  const storage = spec.storage;
  const template = spec.template;
  const env: k8s.V1EnvVar[] = [
    // A changed style set changes the pod template, which rolls the
    // Deployment one pod at a time; readiness (all styles loaded) gates each step.
    { name: STYLES_ENV, value: stylesEnvValue(server) },
    { name: "STYLEKUBE_ENGINE", value: spec.engine },
    { name: "STYLEKUBE_HTTP_PORT", value: String(SERVER_PORT) },
    // Styles come from the StyleServer spec only; no one may change them behind the operator's back.
    { name: "STYLEKUBE_ADMIN_API", value: "false" },
    ...serverClientLimitsEnv(config.STYLEKUBE_SERVER_CLIENT_LIMITS),
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
  const requests: Record<string, string> = {
    cpu: res.cpu,
    memory: res.memory,
    "ephemeral-storage": res.ephemeralStorage,
  };
  const limits: Record<string, string> = { memory: res.memory, "ephemeral-storage": res.ephemeralStorage };
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
          // The operator's labels win: the Deployment selects by them.
          labels: { ...template?.metadata?.labels, ...labels },
          annotations: {
            ...template?.metadata?.annotations,
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(SERVER_PORT),
            "prometheus.io/path": "/metrics",
          },
        },
        spec: {
          automountServiceAccountToken: false,
          securityContext: podSecurityContext(config),
          ...serverPlacement(server),
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
              // Ready only once every configured style is loaded, so no replica that
              // would answer 404 for a configured style takes traffic.
              readinessProbe: probe("/v2/health/ready", 5),
              livenessProbe: probe("/v2/health/live", 10),
              startupProbe: { ...probe("/v2/health/live", 5), failureThreshold: 60 },
              securityContext: containerSecurityContext(),
              volumeMounts: [TMP_MOUNT],
            },
          ],
          volumes: [tmpVolume(res.ephemeralStorage)],
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

/**
 * Node drains and other voluntary evictions take one server pod at a time,
 * so a StyleServer with two or more replicas keeps serving through them; with
 * one replica a drain still proceeds (maxUnavailable, not minAvailable).
 */
export function buildDisruptionBudget(server: StyleServer): k8s.V1PodDisruptionBudget {
  const name = server.metadata.name!;
  return {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: {
      name: serverObjectName(name),
      namespace: server.metadata.namespace,
      labels: serverLabels(name),
      ownerReferences: [serverOwnerReference(server)],
    },
    spec: {
      maxUnavailable: 1,
      selector: { matchLabels: serverLabels(name) },
      // A pod that is not ready serves nothing: evicting it costs nothing.
      unhealthyPodEvictionPolicy: "AlwaysAllow",
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
