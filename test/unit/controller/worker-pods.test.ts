import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { validateStyleTraining } from "../../../common/api/index.js";
import { readWorkerEnv } from "../../../common/worker-env.js";
import { readControllerConfig } from "../../../controller/config.js";
import { describeWorkerPod } from "../../../controller/training/worker-pod.js";
import { buildWorkerPod } from "../../../controller/training/worker-pods.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";

function training() {
  const obj = minimalStyleTraining("mosaic");
  obj.metadata = { name: "mosaic", namespace: "team-a", uid: "1234-uid" };
  obj.spec.workers = 3;
  obj.spec.storage = { secretName: "s3-creds", endpoint: "http://minio.storage:9000", forcePathStyle: true };
  const r = validateStyleTraining(obj);
  assert.ok(r.ok);
  return r.value;
}

describe("worker pods", () => {
  const config = readControllerConfig({
    STYLEKUBE_NATS_URL: "nats://nats.stylekube:4222",
    STYLEKUBE_NATS_SECRET: "nats-creds",
  });

  it("carry the env contract, which the worker parses back", () => {
    const pod = buildWorkerPod(training(), 2, 1, config);
    const env = Object.fromEntries(
      (pod.spec!.containers[0]!.env ?? [])
        .filter((e) => e.value !== undefined)
        .map((e) => [e.name, e.value!]),
    );
    const parsed = readWorkerEnv(env);
    assert.equal(parsed.rank, 1);
    assert.equal(parsed.worldSize, 3);
    assert.equal(parsed.attempt, 2);
    assert.equal(parsed.jobId, "1234-uid");
    assert.equal(parsed.natsUrl, "nats://nats.stylekube:4222");
    assert.equal(parsed.s3Endpoint, "http://minio.storage:9000");
    assert.equal(parsed.s3ForcePathStyle, true);
    assert.equal(parsed.spec.hyperparameters.iterations, 40_000);
    assert.equal(parsed.wasmThreads, 4, "one wasm thread per core of the default 4-CPU limit");
  });

  it("tell the worker where its termination message goes, and read its exit code and message back", () => {
    const pod = buildWorkerPod(training(), 1, 0, config);
    const container = pod.spec!.containers[0]!;
    assert.equal(container.terminationMessagePath, "/dev/termination-log");
    assert.equal(container.terminationMessagePolicy, "FallbackToLogsOnError");
    const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
    assert.equal(env.STYLEKUBE_TERMINATION_MESSAGE_PATH, container.terminationMessagePath);

    assert.equal(describeWorkerPod(pod).exitCode, undefined, "not terminated yet");
    pod.status = {
      phase: "Failed",
      containerStatuses: [
        {
          name: "worker",
          image: "x",
          imageID: "",
          ready: false,
          restartCount: 0,
          state: {
            terminated: { exitCode: 66, reason: "Error", message: "spec.style s3://b/s.jpg: not found\n" },
          },
        },
      ],
    };
    const described = describeWorkerPod(pod);
    assert.equal(described.state, "failed");
    assert.equal(described.exitCode, 66);
    assert.equal(described.terminationMessage, "spec.style s3://b/s.jpg: not found");
  });

  it("give the wasm engine one thread per whole core of the pod's CPU limit (1 … 8)", () => {
    for (const [cpu, threads] of [
      ["500m", 1],
      ["1", 1],
      ["2500m", 2],
      ["3.5", 3],
      ["16", 8],
      ["2k", 8],
    ] as const) {
      const t = training();
      t.spec.resources.cpu = cpu;
      const env = buildWorkerPod(t, 1, 0, config).spec!.containers[0]!.env!;
      assert.equal(
        env.find((e) => e.name === "STYLEKUBE_WASM_THREADS")?.value,
        String(threads),
        `cpu ${cpu}`,
      );
    }
  });

  it("take credentials from Secrets, never inline", () => {
    const pod = buildWorkerPod(training(), 1, 0, config);
    const env = pod.spec!.containers[0]!.env!;
    const secretKey = env.find((e) => e.name === "AWS_SECRET_ACCESS_KEY");
    assert.deepEqual(secretKey?.valueFrom?.secretKeyRef, { name: "s3-creds", key: "AWS_SECRET_ACCESS_KEY" });
    assert.equal(
      env.find((e) => e.name === "STYLEKUBE_NATS_TOKEN")?.valueFrom?.secretKeyRef?.name,
      "nats-creds",
    );
    assert.ok(env.every((e) => !/SECRET|TOKEN|PASSWORD/.test(e.name) || e.value === undefined));
  });

  it("request a GPU by default, are owned by the training, and never restart alone", () => {
    const pod = buildWorkerPod(training(), 1, 0, config);
    assert.equal(pod.metadata!.name, "mosaic-a1-w0");
    assert.deepEqual(pod.spec!.containers[0]!.resources!.limits, {
      cpu: "4",
      memory: "16Gi",
      "ephemeral-storage": "2Gi",
      "nvidia.com/gpu": "1",
    });
    assert.equal(pod.spec!.restartPolicy, "Never");
    assert.deepEqual(pod.metadata!.ownerReferences![0], {
      apiVersion: "stylekube.io/v1alpha1",
      kind: "StyleTraining",
      name: "mosaic",
      uid: "1234-uid",
      controller: true,
      blockOwnerDeletion: true,
    });
    assert.equal(pod.metadata!.labels!["stylekube.io/attempt"], "1");
    assert.equal(pod.spec!.containers[0]!.securityContext!.readOnlyRootFilesystem, true);
  });

  it("run as the configured non-root identity, with /tmp capped at the ephemeral-storage limit", () => {
    const pod = buildWorkerPod(training(), 1, 0, config);
    assert.deepEqual(pod.spec!.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      fsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(
      pod.spec!.volumes!.find((v) => v.name === "tmp"),
      {
        name: "tmp",
        emptyDir: { sizeLimit: "2Gi" },
      },
    );
    assert.equal(pod.spec!.containers[0]!.resources!.requests!["ephemeral-storage"], "2Gi");
    // OpenShift: empty ids leave the UID and groups to the platform; non-root stays.
    const openshift = readControllerConfig({
      STYLEKUBE_RUN_AS_USER: "",
      STYLEKUBE_RUN_AS_GROUP: "",
      STYLEKUBE_FS_GROUP: "",
    });
    assert.deepEqual(buildWorkerPod(training(), 1, 0, openshift).spec!.securityContext, {
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.throws(() => readControllerConfig({ STYLEKUBE_RUN_AS_USER: "nobody" }), /STYLEKUBE_RUN_AS_USER/);
  });

  it("fill in the operator's default VGG-16 weights only where a training names none and is not random", () => {
    const withDefault = readControllerConfig({
      STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS: "s3://weights/vgg16-relu4_3.safetensors",
    });
    const lossNetworkOf = (t: ReturnType<typeof training>, c = withDefault) => {
      const env = Object.fromEntries(
        (buildWorkerPod(t, 1, 0, c).spec!.containers[0]!.env ?? [])
          .filter((e) => e.value !== undefined)
          .map((e) => [e.name, e.value!]),
      );
      return readWorkerEnv(env).spec.lossNetwork;
    };
    assert.equal(lossNetworkOf(training()).weights, "s3://weights/vgg16-relu4_3.safetensors");
    assert.equal(lossNetworkOf(training(), config).weights, undefined, "no default configured");
    const own = training();
    own.spec.lossNetwork.weights = "s3://mine/vgg16.onnx";
    assert.equal(lossNetworkOf(own).weights, "s3://mine/vgg16.onnx");
    const random = training();
    random.spec.lossNetwork.random = true;
    assert.equal(lossNetworkOf(random).weights, undefined);
    // The StyleTraining object itself is not changed.
    const t = training();
    buildWorkerPod(t, 1, 0, withDefault);
    assert.equal(t.spec.lossNetwork.weights, undefined);
    assert.throws(
      () => readControllerConfig({ STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS: "vgg16.h5" }),
      /STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS: .*s3:\/\//,
    );
    assert.equal(
      readControllerConfig({ STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS: "" })
        .STYLEKUBE_DEFAULT_LOSS_NETWORK_WEIGHTS,
      undefined,
    );
  });

  it("a bad env names the variable", () => {
    assert.throws(() => readWorkerEnv({ STYLEKUBE_RANK: "x" }), /STYLEKUBE_RANK/);
    assert.throws(() => readWorkerEnv({ STYLEKUBE_WASM_THREADS: "0" }), /STYLEKUBE_WASM_THREADS/);
  });
});

describe("worker pods with spec.template", () => {
  const config = readControllerConfig({ STYLEKUBE_NATS_URL: "nats://nats.stylekube:4222" });
  const withTemplate = () => {
    const obj = minimalStyleTraining("mosaic");
    obj.metadata = { name: "mosaic", namespace: "team-a", uid: "1234-uid" };
    obj.spec.resources = { gpu: 1 };
    obj.spec.template = {
      metadata: {
        labels: { team: "vision", "kueue.x-k8s.io/queue-name": "gpu" },
        annotations: { owner: "ada" },
      },
      spec: {
        nodeSelector: { "cloud.example.com/pool": "h100" },
        tolerations: [{ key: "dedicated", operator: "Equal", value: "gpu", effect: "NoSchedule" }],
        affinity: {
          nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [] } },
        },
        priorityClassName: "training-high",
        env: [{ name: "HTTPS_PROXY", value: "http://proxy:3128" }],
        volumes: [{ name: "weights", persistentVolumeClaim: { claimName: "vgg16" } }],
        volumeMounts: [{ name: "weights", mountPath: "/weights", readOnly: true }],
      },
    };
    const r = validateStyleTraining(obj);
    assert.ok(r.ok, r.ok ? "" : r.message);
    return r.value;
  };

  it("merges labels, annotations, scheduling, env and volumes; the operator's own stay", () => {
    const pod = buildWorkerPod(withTemplate(), 1, 0, config);
    assert.equal(pod.metadata!.labels!.team, "vision");
    assert.equal(pod.metadata!.labels!["kueue.x-k8s.io/queue-name"], "gpu");
    assert.equal(pod.metadata!.labels!["stylekube.io/rank"], "0");
    assert.deepEqual(pod.metadata!.annotations, { owner: "ada" });
    const spec = pod.spec!;
    assert.deepEqual(spec.nodeSelector, { "cloud.example.com/pool": "h100" });
    assert.equal(spec.priorityClassName, "training-high");
    assert.ok(spec.affinity?.nodeAffinity);
    assert.deepEqual(
      spec.tolerations?.map((t) => t.key),
      ["nvidia.com/gpu", "dedicated"],
      "the GPU toleration and the template's",
    );
    const container = spec.containers[0]!;
    assert.equal(container.env!.at(-1)!.name, "HTTPS_PROXY");
    assert.ok(container.env!.some((e) => e.name === "STYLEKUBE_RANK"));
    assert.deepEqual(
      spec.volumes!.map((v) => v.name),
      ["tmp", "weights"],
    );
    assert.deepEqual(container.volumeMounts!.at(-1), {
      name: "weights",
      mountPath: "/weights",
      readOnly: true,
    });
  });
});
