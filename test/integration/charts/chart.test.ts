// The Helm chart, rendered by the pinned helm and validated by kubeconform
// against the test apiserver's own schemas (built-in kinds and our CRDs), plus
// manifests/install.yaml and manifests/examples/ against the same schemas.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { CHART_DIR, INSTALL_YAML, parseManifests, renderInstallYaml } from "../../../charts/generate.js";
import { runTool, runToolOk } from "../../../charts/tools.js";
import { ControllerConfigSchema } from "../../../controller/config.js";
import { DashboardConfigSchema } from "../../../controller/dashboard/config.js";
import { REPO_ROOT } from "../../env/env-file.js";
import { adminKubeConfig, applyCrds } from "../../support/kubernetes.js";
import { writeKubeconformSchemas, type SchemaSet } from "./kube-schemas.js";

type Manifest = ReturnType<typeof parseManifests>[number];

/** Value sets that together switch on every template and branch. */
const VARIANTS: Record<string, string[]> = {
  defaults: [],
  "everything on": [
    "--set=controller.replicas=2",
    "--set=controller.podDisruptionBudget.enabled=true",
    "--set=controller.watchNamespace=team-a",
    "--set=controller.extraEnv[0].name=EXTRA",
    "--set-string=controller.extraEnv[0].value=1",
    "--set=controller.nodeSelector.pool=system",
    "--set=imagePullSecrets[0].name=registry",
    "--set=serviceAccount.annotations.iam=role",
    "--set=controller.image.digest=sha256:" + "a".repeat(64),
    "--set=trainer.image.tag=0.1.0-tfjs-node-gpu",
    "--set=nats.url=nats://nats.messaging:4222,nats.existingSecret=nats-auth",
    "--set=s3.endpoint=http://minio.storage:9000,s3.forcePathStyle=true,s3.existingSecret=s3-creds",
    "--set=dashboard.token.value=0123456789abcdef0123",
    "--set=dashboard.tokenReview.enabled=true,dashboard.tokenReview.audiences={https://kubernetes.default.svc}",
    "--set=dashboard.allowedOrigins={https://stylekube.example.com}",
    "--set=dashboard.ingress.enabled=true,dashboard.ingress.className=nginx",
    "--set=dashboard.ingress.tls[0].secretName=tls,dashboard.ingress.tls[0].hosts={stylekube.local}",
  ],
  "namespaced, platform-assigned identity, relaxed admission": [
    "--set=rbac.scope=namespaced,controller.watchNamespace=team-a",
    "--set=securityContext.runAsUser=null,securityContext.runAsGroup=null,securityContext.fsGroup=null",
    "--set=networkPolicy.workloadNamespaces={team-b,team-a}",
    "--set=networkPolicy.nats[0].namespaceSelector.matchLabels.name=messaging",
    "--set=admission.validationActions={Warn,Audit}",
    "--set=admission.images.allowed={registry.example.com/ml/}",
    '--set-json=admission.namespaces={"team-a":{"volumeSources":["secret"],"secretEnv":true}}',
  ],
  "bring your own identity, no dashboard": [
    "--set=serviceAccount.create=false,serviceAccount.name=ops",
    "--set=rbac.create=false",
    "--set=trainer.serviceAccount.create=false",
    "--set=dashboard.enabled=false",
  ],
};

function template(args: string[], release = "stylekube", namespace = "stylekube-system"): string {
  return runToolOk("helm", [
    "template",
    release,
    CHART_DIR,
    "--namespace",
    namespace,
    "--include-crds",
    ...args,
  ]);
}

const byKind = (objs: Manifest[], kind: string) => objs.filter((o) => o.kind === kind);
const one = (objs: Manifest[], kind: string): Manifest => {
  const found = byKind(objs, kind);
  assert.equal(found.length, 1, `exactly one ${kind}`);
  return found[0]!;
};

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } };
}
function controllerEnv(objs: Manifest[]): EnvVar[] {
  const deploy = one(objs, "Deployment") as unknown as {
    spec: { template: { spec: { containers: { env: EnvVar[] }[] } } };
  };
  return deploy.spec.template.spec.containers[0]!.env;
}

function rbacRules(objs: Manifest[], kind: string, name?: string): unknown {
  const found = name
    ? byKind(objs, kind).filter((o) => (o.metadata as { name: string }).name === name)
    : byKind(objs, kind);
  assert.equal(found.length, 1, `exactly one ${kind} ${name ?? ""}`);
  return (found[0] as { rules?: unknown }).rules;
}

describe("helm chart charts/stylekube", () => {
  let schemas: SchemaSet;
  let schemaDir: string;

  before(async () => {
    const kc = adminKubeConfig();
    // The apiserver publishes a CRD's schema once it is installed.
    await applyCrds(kc);
    schemaDir = mkdtempSync(join(tmpdir(), "stylekube-schemas-"));
    schemas = await writeKubeconformSchemas(kc, schemaDir);
  });
  after(() => rmSync(schemaDir, { recursive: true, force: true }));

  /** kubeconform -strict over YAML text; returns its summary, fails on anything not valid. */
  function kubeconform(yaml: string, what: string): { valid: number } {
    // -strict: no undeclared keys; no -ignore-missing-schemas: a kind without a schema fails.
    const r = runTool(
      "kubeconform",
      ["-strict", "-summary", "-output", "json", "-schema-location", schemas.location, "-"],
      {},
      yaml,
    );
    assert.equal(r.status, 0, `${what}: kubeconform says\n${r.stdout}\n${r.stderr}`);
    const summary = (JSON.parse(r.stdout) as { summary: Record<string, number> }).summary;
    assert.deepEqual(
      { invalid: summary.invalid, errors: summary.errors, skipped: summary.skipped },
      { invalid: 0, errors: 0, skipped: 0 },
    );
    return { valid: summary.valid ?? 0 };
  }

  it("the schemas come from the apiserver and include our CRDs", () => {
    for (const kind of [
      "apps/v1/Deployment",
      "/v1/Secret",
      "rbac.authorization.k8s.io/v1/ClusterRole",
      "networking.k8s.io/v1/Ingress",
      "apiextensions.k8s.io/v1/CustomResourceDefinition",
      "stylekube.io/v1alpha1/StyleTraining",
      "stylekube.io/v1alpha1/StyleServer",
    ]) {
      assert.ok(schemas.kinds.includes(kind), `${kind} in ${schemas.kinds.length} schemas`);
    }
  });

  it("kubeconform with these schemas rejects a mistyped key and a CRD constraint", () => {
    const typo = `apiVersion: v1
kind: ServiceAccount
metadata: {name: x}
automountServiceAccountTokens: false
`;
    const badTraining = `apiVersion: stylekube.io/v1alpha1
kind: StyleTraining
metadata: {name: x}
spec: {style: "s3://b/s.jpg", dataset: "s3://b/d/", output: "s3://b/o/", workers: 0}
`;
    for (const [what, yaml] of [
      ["mistyped key", typo],
      ["workers: 0", badTraining],
    ] as const) {
      const r = runTool("kubeconform", ["-strict", "-schema-location", schemas.location, "-"], {}, yaml);
      assert.notEqual(r.status, 0, `${what} must be invalid`);
      assert.match(r.stdout, /is invalid/, what);
    }
  });

  for (const [variant, args] of Object.entries(VARIANTS)) {
    it(`helm lint --strict (${variant})`, () => {
      const r = runTool("helm", ["lint", "--strict", CHART_DIR, ...args]);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
    });

    it(`helm template (${variant}) is valid against the apiserver's schemas`, () => {
      const yaml = template(args);
      const objects = parseManifests(yaml);
      const { valid } = kubeconform(yaml, variant);
      assert.equal(valid, objects.length, "every rendered object was validated");
    });
  }

  it("renders every template with everything on", () => {
    const kinds = parseManifests(template(VARIANTS["everything on"]!))
      .map((o) => o.kind)
      .sort();
    assert.deepEqual(kinds, [
      "ClusterRole", // the operator's
      "ClusterRole", // stylekube-edit, aggregated
      "ClusterRole", // stylekube-view, aggregated
      "ClusterRoleBinding",
      "ClusterRoleBinding", // system:auth-delegator for dashboard token review
      "CustomResourceDefinition",
      "CustomResourceDefinition",
      "Deployment",
      "Ingress",
      "NetworkPolicy", // the operator's
      "NetworkPolicy", // workers in the watched namespace
      "NetworkPolicy", // model servers in the watched namespace
      "PodDisruptionBudget",
      "Role",
      "RoleBinding",
      "Secret",
      "Service", // dashboard
      "Service", // metrics
      "ServiceAccount",
      "ServiceAccount",
      "ValidatingAdmissionPolicy",
      "ValidatingAdmissionPolicyBinding",
    ]);
  });

  it("grants exactly manifests/rbac/controller.yaml's rules", () => {
    const source = parseManifests(readFileSync(resolve(REPO_ROOT, "manifests/rbac/controller.yaml"), "utf8"));
    const chart = parseManifests(template([], "other-release", "elsewhere"));
    assert.deepEqual(
      rbacRules(chart, "ClusterRole", "other-release-stylekube-controller"),
      rbacRules(source, "ClusterRole"),
    );
    assert.deepEqual(rbacRules(chart, "Role"), rbacRules(source, "Role"));
    // Bound to the operator's ServiceAccount in the release namespace.
    const sa = byKind(chart, "ServiceAccount").find(
      (o) => (o.metadata as { name: string }).name === "other-release-stylekube-controller",
    );
    assert.ok(sa, "the operator's ServiceAccount");
    for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
      const binding = one(chart, kind) as unknown as { subjects: { name: string; namespace: string }[] };
      assert.deepEqual(binding.subjects, [
        { kind: "ServiceAccount", name: "other-release-stylekube-controller", namespace: "elsewhere" },
      ]);
    }
  });

  it("rbac.scope namespaced: the operator's rules as a Role in the watched namespace, nothing cluster-wide", () => {
    const objs = parseManifests(
      template(VARIANTS["namespaced, platform-assigned identity, relaxed admission"]!),
    );
    const source = parseManifests(readFileSync(resolve(REPO_ROOT, "manifests/rbac/controller.yaml"), "utf8"));
    const named = (kind: string, name: string) =>
      byKind(objs, kind).find((o) => (o.metadata as { name: string }).name === name) as
        { metadata: { namespace?: string }; rules?: unknown } | undefined;
    const role = named("Role", "stylekube-controller");
    assert.equal(role?.metadata.namespace, "team-a");
    assert.deepEqual(role?.rules, rbacRules(source, "ClusterRole"));
    assert.equal(named("RoleBinding", "stylekube-controller")?.metadata.namespace, "team-a");
    // Cluster-wide: only the aggregated roles for users, which grant the operator nothing.
    assert.deepEqual(byKind(objs, "ClusterRoleBinding"), []);
    assert.deepEqual(
      byKind(objs, "ClusterRole")
        .map((o) => (o.metadata as { name: string }).name)
        .sort(),
      ["stylekube-edit", "stylekube-view"],
    );
    const binding = one(objs, "ValidatingAdmissionPolicyBinding") as unknown as {
      spec: { validationActions: string[]; matchResources: { namespaceSelector: unknown } };
    };
    assert.deepEqual(binding.spec.matchResources.namespaceSelector, {
      matchExpressions: [{ key: "kubernetes.io/metadata.name", operator: "In", values: ["team-a"] }],
    });
    assert.deepEqual(binding.spec.validationActions, ["Warn", "Audit"]);
    const r = runTool("helm", ["template", "x", CHART_DIR, "--set=rbac.scope=namespaced"]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /rbac\.scope namespaced needs controller\.watchNamespace/);
  });

  it("the pods' identity: 65532 by default, left to the platform when the values are null", () => {
    const podOf = (objs: Manifest[]) =>
      (one(objs, "Deployment") as unknown as { spec: { template: { spec: { securityContext: object } } } })
        .spec.template.spec.securityContext;
    const envOf = (objs: Manifest[]) => Object.fromEntries(controllerEnv(objs).map((e) => [e.name, e.value]));
    const defaults = parseManifests(template([]));
    assert.deepEqual(podOf(defaults), {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const env = envOf(defaults);
    assert.deepEqual(
      [env.STYLEKUBE_RUN_AS_USER, env.STYLEKUBE_RUN_AS_GROUP, env.STYLEKUBE_FS_GROUP],
      ["65532", "65532", "65532"],
    );
    const openshift = parseManifests(
      template(VARIANTS["namespaced, platform-assigned identity, relaxed admission"]!),
    );
    assert.deepEqual(podOf(openshift), { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    const config = ControllerConfigSchema.parse(envOf(openshift));
    assert.deepEqual(
      [config.STYLEKUBE_RUN_AS_USER, config.STYLEKUBE_RUN_AS_GROUP, config.STYLEKUBE_FS_GROUP],
      [undefined, undefined, undefined],
    );
  });

  it("NetworkPolicies: workers take no connections and reach only DNS, NATS and S3 on their ports", () => {
    type Rule = { ports: { port: number | string; protocol: string }[]; to?: unknown[] };
    type Policy = {
      metadata: { name: string; namespace: string };
      spec: { policyTypes: string[]; ingress?: unknown[]; egress: Rule[] };
    };
    const policies = byKind(
      parseManifests(template(VARIANTS["everything on"]!)),
      "NetworkPolicy",
    ) as unknown as Policy[];
    const find = (name: string) => policies.find((p) => p.metadata.name === name)!;
    const ports = (p: Policy) =>
      p.spec.egress.map((r) => r.ports.map((x) => `${x.port}/${x.protocol}`).join(","));
    const workers = find("stylekube-workers");
    assert.equal(workers.metadata.namespace, "team-a");
    assert.deepEqual(workers.spec.policyTypes, ["Ingress", "Egress"]);
    assert.equal(workers.spec.ingress, undefined, "no ingress rule: nothing may connect");
    // nats://nats.messaging:4222 and http://minio.storage:9000 in this variant.
    assert.deepEqual(ports(workers), ["53/UDP,53/TCP", "4222/TCP", "9000/TCP"]);
    const servers = find("stylekube-servers");
    assert.deepEqual(ports(servers), ["53/UDP,53/TCP", "9000/TCP"]);
    assert.equal(servers.spec.ingress?.length, 1);
    const operator = find("stylekube-controller");
    assert.equal(operator.metadata.namespace, "stylekube-system");
    assert.deepEqual(ports(operator), [
      "53/UDP,53/TCP",
      "443/TCP,6443/TCP",
      "4222/TCP",
      "9000/TCP",
      "8080/TCP",
    ]);
    // Without an endpoint, S3 is AWS on 443; peers given for NATS narrow that rule.
    const namespaced = byKind(
      parseManifests(template(VARIANTS["namespaced, platform-assigned identity, relaxed admission"]!)),
      "NetworkPolicy",
    ) as unknown as Policy[];
    assert.deepEqual(
      namespaced
        .filter((p) => p.metadata.name === "stylekube-workers")
        .map((p) => p.metadata.namespace)
        .sort(),
      ["team-a", "team-b"],
    );
    const nsWorkers = namespaced.find((p) => p.metadata.name === "stylekube-workers")!;
    assert.deepEqual(ports(nsWorkers), ["53/UDP,53/TCP", "4222/TCP", "443/TCP"]);
    assert.deepEqual(nsWorkers.spec.egress[1]!.to, [
      { namespaceSelector: { matchLabels: { name: "messaging" } } },
    ]);
    const openshiftDns = byKind(
      parseManifests(template(["--set=networkPolicy.dnsPorts={53,5353}"])),
      "NetworkPolicy",
    ) as unknown as Policy[];
    assert.equal(ports(openshiftDns[0]!)[0], "53/UDP,53/TCP,5353/UDP,5353/TCP");
    assert.deepEqual(
      byKind(parseManifests(template(["--set=networkPolicy.enabled=false"])), "NetworkPolicy"),
      [],
    );
  });

  it("a metrics Service by default, and a ServiceMonitor on request that selects it", () => {
    const objs = parseManifests(template(["--set=metrics.serviceMonitor.enabled=true"]));
    const service = byKind(objs, "Service").find(
      (o) => (o.metadata as { name: string }).name === "stylekube-metrics",
    ) as unknown as { metadata: { labels: Record<string, string> }; spec: { ports: { name: string }[] } };
    assert.ok(service, "the metrics Service");
    const monitor = one(objs, "ServiceMonitor") as unknown as {
      spec: {
        selector: { matchLabels: Record<string, string> };
        endpoints: { port: string; path: string }[];
      };
    };
    for (const [k, v] of Object.entries(monitor.spec.selector.matchLabels))
      assert.equal(service.metadata.labels[k], v, `the Service carries ${k}=${v}`);
    assert.equal(monitor.spec.endpoints[0]!.port, service.spec.ports[0]!.name);
    assert.equal(monitor.spec.endpoints[0]!.path, "/metrics");
    const r = runTool("helm", [
      "template",
      "x",
      CHART_DIR,
      "--set=metrics.serviceMonitor.enabled=true,metrics.service.enabled=false",
    ]);
    assert.match(r.stderr, /metrics\.serviceMonitor\.enabled needs metrics\.service\.enabled/);
  });

  it("every pod the chart runs has ephemeral-storage requests and limits and a capped /tmp", () => {
    const deploy = one(parseManifests(template([])), "Deployment") as unknown as {
      spec: {
        template: {
          spec: {
            containers: { resources: { requests: Record<string, string>; limits: Record<string, string> } }[];
            volumes: { name: string; emptyDir?: { sizeLimit?: string } }[];
          };
        };
      };
    };
    const pod = deploy.spec.template.spec;
    assert.ok(pod.containers[0]!.resources.requests["ephemeral-storage"]);
    assert.ok(pod.containers[0]!.resources.limits["ephemeral-storage"]);
    for (const v of pod.volumes.filter((x) => x.emptyDir))
      assert.ok(v.emptyDir!.sizeLimit, `${v.name} sizeLimit`);
  });

  it("the worker ServiceAccount matches manifests/rbac/worker.yaml and the operator's setting", () => {
    const source = one(
      parseManifests(readFileSync(resolve(REPO_ROOT, "manifests/rbac/worker.yaml"), "utf8")),
      "ServiceAccount",
    ) as unknown as { metadata: { name: string }; automountServiceAccountToken: boolean };
    const chart = parseManifests(template([]));
    const worker = byKind(chart, "ServiceAccount").find(
      (o) => (o.metadata as { name: string }).name === source.metadata.name,
    ) as { automountServiceAccountToken?: boolean } | undefined;
    assert.ok(worker, `ServiceAccount ${source.metadata.name}`);
    assert.equal(worker.automountServiceAccountToken, source.automountServiceAccountToken);
    const env = controllerEnv(chart);
    assert.equal(env.find((e) => e.name === "STYLEKUBE_WORKER_SERVICE_ACCOUNT")?.value, source.metadata.name);
  });

  it("every STYLEKUBE_ variable the chart sets is one the operator reads", () => {
    const known = new Set([
      ...Object.keys(ControllerConfigSchema.shape),
      ...Object.keys(DashboardConfigSchema.shape),
      "STYLEKUBE_LOG_LEVEL", // common/log/logger.ts
    ]);
    const env = controllerEnv(parseManifests(template(VARIANTS["everything on"]!)));
    const unknown = env.map((e) => e.name).filter((n) => n.startsWith("STYLEKUBE_") && !known.has(n));
    assert.deepEqual(unknown, []);
    // And the values parse: the operator would refuse to start otherwise.
    const plain = Object.fromEntries(env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value]));
    assert.doesNotThrow(() => ControllerConfigSchema.parse(plain));
    assert.doesNotThrow(() => DashboardConfigSchema.parse(plain));
  });

  it("passes images, NATS, S3 and the dashboard token to the operator", () => {
    const env = controllerEnv(parseManifests(template(VARIANTS["everything on"]!)));
    const value = (name: string) => env.find((e) => e.name === name)?.value;
    assert.equal(value("STYLEKUBE_TRAINER_IMAGE"), "stylekube/trainer:0.1.0-tfjs-node-gpu");
    assert.equal(value("STYLEKUBE_SERVER_IMAGE"), "stylekube/server:0.1.0");
    assert.equal(value("STYLEKUBE_NATS_URL"), "nats://nats.messaging:4222");
    assert.equal(value("STYLEKUBE_NATS_SECRET"), "nats-auth");
    assert.equal(value("STYLEKUBE_S3_ENDPOINT"), "http://minio.storage:9000");
    assert.equal(value("STYLEKUBE_S3_FORCE_PATH_STYLE"), "true");
    assert.equal(value("STYLEKUBE_STORAGE_SECRET"), "s3-creds");
    assert.equal(value("STYLEKUBE_WATCH_NAMESPACE"), "team-a");
    for (const [name, key] of [
      ["STYLEKUBE_NATS_TOKEN", "token"],
      ["STYLEKUBE_NATS_USER", "user"],
      ["STYLEKUBE_NATS_PASSWORD", "password"],
    ] as const) {
      assert.deepEqual(env.find((e) => e.name === name)?.valueFrom?.secretKeyRef, {
        name: "nats-auth",
        key,
        optional: true,
      });
    }
    assert.deepEqual(env.find((e) => e.name === "STYLEKUBE_DASHBOARD_TOKEN")?.valueFrom?.secretKeyRef, {
      name: "stylekube-dashboard",
      key: "token",
      optional: true,
    });
    const defaults = controllerEnv(parseManifests(template([])));
    assert.equal(
      defaults.find((e) => e.name === "STYLEKUBE_TRAINER_IMAGE")?.value,
      "stylekube/trainer:0.1.0",
    );
    for (const name of ["POD_NAMESPACE", "POD_NAME"]) {
      assert.ok(defaults.find((e) => e.name === name)?.valueFrom, `${name} from the downward API`);
    }
  });

  it("runs the operator locked down: non-root, read-only root, no capabilities, probes, metrics", () => {
    const deploy = one(parseManifests(template([])), "Deployment") as unknown as {
      spec: {
        template: {
          metadata: { annotations: Record<string, string> };
          spec: {
            securityContext: Record<string, unknown>;
            containers: {
              args: string[];
              securityContext: Record<string, unknown>;
              livenessProbe: { httpGet: { path: string; port: string } };
              readinessProbe: { httpGet: { path: string; port: string } };
              ports: { name: string; containerPort: number }[];
              resources: { requests?: Record<string, string>; limits?: Record<string, string> };
            }[];
          };
        };
      };
    };
    const pod = deploy.spec.template.spec;
    const c = pod.containers[0]!;
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    assert.deepEqual(c.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    assert.deepEqual(c.args, ["controller"]);
    assert.deepEqual(c.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
    assert.equal(c.livenessProbe.httpGet.path, "/healthz");
    assert.equal(c.readinessProbe.httpGet.path, "/readyz");
    assert.ok(c.resources.requests?.cpu && c.resources.limits?.memory, "requests and a memory limit");
    assert.deepEqual(deploy.spec.template.metadata.annotations, {
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "8080",
      "prometheus.io/path": "/metrics",
    });
  });

  it("the schema rejects unknown keys and bad values; templates refuse unsafe combinations", () => {
    for (const [args, message] of [
      [["--set=controller.replicaz=2"], /replicaz/],
      [["--set=bogus=1"], /bogus/],
      [["--set=dashboard.token.value=short"], /dashboard\/token\/value/],
      [["--set=nats.url=http://nats:4222"], /nats\/url/],
      [["--set=controller.extraEnv[0].name=N,controller.extraEnv[0].value=1"], /extraEnv\/0\/value/],
      [["--set=controller.replicas=2,controller.leaderElection.enabled=false"], /leaderElection/],
    ] as const) {
      const r = runTool("helm", ["template", "x", CHART_DIR, ...args]);
      assert.notEqual(r.status, 0, `${args.join(" ")} must fail`);
      assert.match(r.stderr, message);
    }
  });

  it("a generated dashboard token is 32 random characters; a given one is used as is", () => {
    const secret = (args: string[]) => {
      const s = one(parseManifests(template(args)), "Secret") as unknown as { data: { token: string } };
      return Buffer.from(s.data.token, "base64").toString("utf8");
    };
    const a = secret([]);
    const b = secret([]);
    assert.match(a, /^[A-Za-z0-9]{32}$/);
    assert.notEqual(a, b, "random without a cluster to look the old one up in");
    assert.equal(secret(["--set=dashboard.token.value=0123456789abcdef0123"]), "0123456789abcdef0123");
  });

  it("manifests/install.yaml is current (run `tsx charts/generate.ts` if this fails)", () => {
    assert.equal(readFileSync(INSTALL_YAML, "utf8"), renderInstallYaml());
  });

  it("manifests/install.yaml is valid, matches manifests/rbac's names and holds no secret", () => {
    const yaml = readFileSync(INSTALL_YAML, "utf8");
    const objects = parseManifests(yaml);
    assert.equal(kubeconform(yaml, "install.yaml").valid, objects.length);
    assert.equal(byKind(objects, "Secret").length, 0);
    const names = (o: Manifest) => `${o.kind}/${(o.metadata as { name: string }).name}`;
    const rbac = parseManifests(
      ["namespace.yaml", "controller.yaml", "worker.yaml"]
        .map((f) => readFileSync(resolve(REPO_ROOT, "manifests/rbac", f), "utf8"))
        .join("\n---\n"),
    );
    const installed = new Set(objects.map(names));
    for (const o of rbac) assert.ok(installed.has(names(o)), `${names(o)} in install.yaml`);
    assert.equal(
      one(objects, "Namespace").metadata && names(one(objects, "Namespace")),
      "Namespace/stylekube-system",
    );
  });

  it("every example in manifests/examples is valid against the CRDs' published schemas", () => {
    const dir = resolve(REPO_ROOT, "manifests/examples");
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    assert.ok(files.length >= 5, "the examples are there");
    for (const f of files) {
      const yaml = readFileSync(join(dir, f), "utf8");
      assert.equal(kubeconform(yaml, f).valid, parseAllDocuments(yaml).length, f);
    }
  });
});
