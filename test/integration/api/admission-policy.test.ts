// manifests/install.yaml on the real apiserver, as a cluster administrator
// applies it, and a namespace user (bound to the built-in edit role, which the
// chart's aggregated ClusterRole extends) trying to make the operator build
// more than it should: every refused case is refused at admission, naming the
// field; every relaxation the chart offers (cluster-wide and per namespace)
// lets exactly its case through.
//
// The shared test apiserver runs other suites at the same time, so each
// policy binding here selects only this file's namespaces (by a label);
// everything else is applied as written.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { parseAllDocuments, stringify } from "yaml";
import { CHART_DIR, INSTALL_RELEASE, INSTALL_YAML } from "../../../charts/generate.js";
import { runToolOk } from "../../../charts/tools.js";
import { GROUP, VERSION } from "../../../common/api/index.js";
import { readTestEnv, REPO_ROOT } from "../../env/env-file.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import { serviceAccountKubeconfig } from "../../support/controller-process.js";
import {
  adminKubeConfig,
  apiStatus,
  createNamespace,
  deleteNamespace,
  waitFor,
} from "../../support/kubernetes.js";

const TEST_LABEL = "stylekube.io/admission-test";
type Manifest = { kind: string; apiVersion: string; metadata: { name: string; namespace?: string } };
type Body = { spec: Record<string, unknown> } & Record<string, unknown>;

/** Every document of a YAML text, with each policy binding narrowed to namespaces labelled `selector`. */
function withBindingSelector(yamlText: string, selector: string): Manifest[] {
  const docs = parseAllDocuments(yamlText)
    .map((d) => d.toJS() as Manifest | null)
    .filter((d): d is Manifest => d !== null);
  const bindings = docs.filter((d) => d.kind === "ValidatingAdmissionPolicyBinding");
  assert.equal(bindings.length, 1, "one policy binding");
  for (const b of bindings) {
    const spec = (b as unknown as { spec: { matchResources: Record<string, unknown> } }).spec;
    spec.matchResources.namespaceSelector = { matchLabels: { [TEST_LABEL]: selector } };
  }
  return docs;
}

function kubectl(args: string[], input?: string): string {
  const env = readTestEnv();
  assert.ok(env.binDir, "the test environment names its binDir (kubectl)");
  const r = spawnSync(join(env.binDir, "kubectl"), ["--kubeconfig", env.kubeconfig, ...args], {
    input,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}

const FIELD_MANAGER = "stylekube-admission-test";
const apply = (docs: Manifest[]) =>
  kubectl(
    ["apply", "--server-side", "--force-conflicts", `--field-manager=${FIELD_MANAGER}`, "-f", "-"],
    docs.map((d) => stringify(d)).join("---\n"),
  );

/** A StyleTraining with `change` applied to a copy of the minimal one. */
function training(name: string, change: (spec: Record<string, unknown>) => void = () => {}): Body {
  const body = structuredClone(minimalStyleTraining(name)) as unknown as Body;
  change(body.spec);
  return body;
}
const podSpec = (spec: Record<string, unknown>, s: Record<string, unknown>) =>
  void (spec.template = { spec: s });

function server(name: string, change: (spec: Record<string, unknown>) => void = () => {}): Body {
  const body: Body = { apiVersion: `${GROUP}/${VERSION}`, kind: "StyleServer", metadata: { name }, spec: {} };
  change(body.spec);
  return body;
}

interface RefusedCase {
  name: string;
  body: Body;
  /** The field the message must name, and text it must contain. */
  message: RegExp;
}

/** What the default policy refuses, one case per way a pod could reach past its namespace user. */
const REFUSED: RefusedCase[] = [
  {
    name: "an image outside the allow-list",
    body: training("image", (s) => void (s.image = "registry.example.com/miner:1")),
    message: /^.*spec\.image: registry\.example\.com\/miner:1 is not an allowed image.*stylekube\/trainer/,
  },
  {
    name: "an allowed repository's name as a prefix of another",
    body: training("image-prefix", (s) => void (s.image = "stylekube/trainer-evil:1")),
    message: /spec\.image: stylekube\/trainer-evil:1 is not an allowed image/,
  },
  {
    name: "a hostPath volume of the node's root",
    body: training("hostpath", (s) => podSpec(s, { volumes: [{ name: "root", hostPath: { path: "/" } }] })),
    message: /spec\.template\.spec\.volumes: root uses hostPath, not allowed/,
  },
  {
    name: "a Secret volume",
    body: training("secret-volume", (s) =>
      podSpec(s, { volumes: [{ name: "keys", secret: { secretName: "someone-elses" } }] }),
    ),
    message: /spec\.template\.spec\.volumes: keys uses secret, not allowed/,
  },
  {
    name: "a projected ServiceAccount token",
    body: training("token", (s) =>
      podSpec(s, {
        volumes: [{ name: "tok", projected: { sources: [{ serviceAccountToken: { path: "token" } }] } }],
      }),
    ),
    message: /spec\.template\.spec\.volumes: tok uses projected, not allowed/,
  },
  {
    name: "a CSI volume",
    body: training("csi", (s) =>
      podSpec(s, { volumes: [{ name: "vault", csi: { driver: "secrets-store.csi.k8s.io" } }] }),
    ),
    message: /spec\.template\.spec\.volumes: vault uses csi, not allowed/,
  },
  {
    name: "env from a Secret that is not the storage secret",
    body: training("secret-env", (s) => {
      s.storage = { secretName: "own-s3" };
      podSpec(s, {
        env: [{ name: "STOLEN", valueFrom: { secretKeyRef: { name: "admin-token", key: "t" } } }],
      });
    }),
    message: /spec\.template\.spec\.env: STOLEN reads Secret admin-token.*spec\.storage\.secretName = own-s3/,
  },
  {
    name: "env from a Secret without a storage secret",
    body: training("secret-env-nostorage", (s) =>
      podSpec(s, { env: [{ name: "STOLEN", valueFrom: { secretKeyRef: { name: "own-s3", key: "t" } } }] }),
    ),
    message: /spec\.template\.spec\.env: STOLEN reads Secret own-s3.*which is not set/,
  },
  {
    name: "NODE_OPTIONS (code injected into the worker)",
    body: training("node-options", (s) =>
      podSpec(s, { env: [{ name: "NODE_OPTIONS", value: "--import=data:text/javascript,1" }] }),
    ),
    message: /spec\.template\.spec\.env: NODE_OPTIONS would change what code the container runs/,
  },
  {
    name: "a StyleServer image outside the allow-list",
    body: server("image", (s) => void (s.image = "registry.example.com/server:1")),
    message: /spec\.image: registry\.example\.com\/server:1 is not an allowed image/,
  },
];

describe("admission policy of manifests/install.yaml on the real apiserver", () => {
  let admin: k8s.KubeConfig;
  let user: k8s.CustomObjectsApi;
  let nsDefault: string; // the default policy
  let nsTeam: string; // relaxed for this namespace
  let nsOther: string; // only the cluster-wide relaxation
  const runId = randomBytes(3).toString("hex");
  const work = mkdtempSync(join(tmpdir(), "stylekube-admission-"));
  let installed: Manifest[] = [];
  let relaxed: Manifest[] = [];

  const plural = (b: Body) => (b.kind === "StyleServer" ? "styleservers" : "styletrainings");
  const create = (api: k8s.CustomObjectsApi, namespace: string, body: Body) =>
    api.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural: plural(body),
      body,
    });
  /** The refusal's message, or a failed assertion when the object was admitted. */
  const refusal = async (api: k8s.CustomObjectsApi, namespace: string, body: Body) => {
    try {
      await create(api, namespace, body);
    } catch (err) {
      const status = apiStatus(err);
      return `${status.code} ${status.message}`;
    }
    assert.fail(`${plural(body)} ${String((body.metadata as { name: string }).name)} was admitted`);
  };

  /** A user with the built-in edit role in each namespace, as a cluster's namespace users have. */
  async function namespaceUser(namespaces: string[]): Promise<k8s.CustomObjectsApi> {
    const home = namespaces[0]!;
    const core = admin.makeApiClient(k8s.CoreV1Api);
    const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
    await core.createNamespacedServiceAccount({ namespace: home, body: { metadata: { name: "alice" } } });
    for (const namespace of namespaces)
      await rbac.createNamespacedRoleBinding({
        namespace,
        body: {
          metadata: { name: "alice-edit" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
          subjects: [{ kind: "ServiceAccount", name: "alice", namespace: home }],
        },
      });
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(await serviceAccountKubeconfig(admin, home, "alice", join(work, "alice")));
    return kc.makeApiClient(k8s.CustomObjectsApi);
  }

  before(async () => {
    admin = adminKubeConfig();
    const core = admin.makeApiClient(k8s.CoreV1Api);
    nsDefault = await createNamespace(admin, "admission-default");
    nsTeam = await createNamespace(admin, "admission-team");
    nsOther = await createNamespace(admin, "admission-other");
    const label = (namespace: string, value: string) =>
      core.patchNamespace(
        { name: namespace, body: { metadata: { labels: { [TEST_LABEL]: value } } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    await label(nsDefault, `install-${runId}`);
    await label(nsTeam, `relaxed-${runId}`);
    await label(nsOther, `relaxed-${runId}`);

    installed = withBindingSelector(readFileSync(INSTALL_YAML, "utf8"), `install-${runId}`);
    apply(installed);
    // The chart's policy again under another release, with every relaxation it offers.
    const values = {
      admission: {
        images: { allowed: ["registry.example.com/shared/"] },
        namespaces: {
          [nsTeam]: {
            images: ["registry.example.com/team/"],
            volumeSources: ["secret"],
            secretEnv: true,
            runtimeEnv: true,
          },
        },
      },
    };
    writeFileSync(join(work, "values.yaml"), stringify(values));
    const rendered = runToolOk("helm", [
      "template",
      `relaxed-${runId}`,
      CHART_DIR,
      "--namespace",
      INSTALL_RELEASE.namespace,
      "--show-only",
      "templates/admission-policy.yaml",
      "--values",
      join(work, "values.yaml"),
    ]);
    relaxed = withBindingSelector(rendered, `relaxed-${runId}`);
    apply(relaxed);
    user = await namespaceUser([nsDefault, nsTeam, nsOther]);
    // A new binding takes effect once the apiserver's admission informers see it.
    await waitFor("the policies to be in force", async () => {
      const probe = REFUSED[0]!.body;
      const metadata = { ...(probe.metadata as object), name: `probe-${randomBytes(2).toString("hex")}` };
      // Until the built-in edit role aggregates the chart's, RBAC refuses first: only the policy's refusal counts.
      const byPolicy = (namespace: string) =>
        create(user, namespace, { ...probe, metadata }).then(
          () => false,
          (err: unknown) => apiStatus(err).message.includes("ValidatingAdmissionPolicy"),
        );
      return (await byPolicy(nsDefault)) && (await byPolicy(nsOther));
    });
  });

  after(async () => {
    // Cluster-scoped policy objects would judge every other suite's objects: always removed,
    // with what only install.yaml brings. What manifests/rbac also holds (the Namespace,
    // the operator's ServiceAccount and roles) and the CRDs stay: other suites use them.
    const own = [...relaxed, ...installed].filter(
      (o) =>
        [
          "ValidatingAdmissionPolicy",
          "ValidatingAdmissionPolicyBinding",
          "Deployment",
          "NetworkPolicy",
          "PodDisruptionBudget",
          "Service",
        ].includes(o.kind) ||
        (o.kind === "ClusterRole" && /-(edit|view)$/.test(o.metadata.name)),
    );
    for (const o of own) {
      const ns = o.metadata.namespace ? ["-n", o.metadata.namespace] : [];
      kubectl([...ns, "delete", o.kind.toLowerCase(), o.metadata.name, "--ignore-not-found", "--wait=false"]);
    }
    await Promise.all([nsDefault, nsTeam, nsOther].map((n) => deleteNamespace(admin, n)));
    rmSync(work, { recursive: true, force: true });
  });

  it("install.yaml's operator pod is admitted by its namespace's restricted Pod Security level", async () => {
    const ns = await admin.makeApiClient(k8s.CoreV1Api).readNamespace({ name: INSTALL_RELEASE.namespace });
    assert.equal(ns.metadata?.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
    const apps = admin.makeApiClient(k8s.AppsV1Api);
    await waitFor("the operator Deployment's pod to be created", async () => {
      const d = await apps.readNamespacedDeployment({
        name: `${INSTALL_RELEASE.name}-controller`,
        namespace: INSTALL_RELEASE.namespace,
      });
      // A pod refused by Pod Security leaves the ReplicaSet with a FailedCreate condition and no replicas.
      return (d.status?.replicas ?? 0) >= 1;
    });
  });

  it("admits a namespace user's StyleTraining with the operator's image, an emptyDir and its own storage secret", async () => {
    const body = training("allowed", (s) => {
      s.image = "stylekube/trainer:0.1.0";
      s.storage = { secretName: "own-s3" };
      podSpec(s, {
        volumes: [
          { name: "scratch", emptyDir: { sizeLimit: "1Gi" } },
          { name: "settings", configMap: { name: "settings" } },
        ],
        volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
        env: [
          { name: "EXTRA_KEY", valueFrom: { secretKeyRef: { name: "own-s3", key: "extra" } } },
          { name: "PLAIN", value: "1" },
        ],
      });
    });
    await assert.doesNotReject(create(user, nsDefault, body));
  });

  it("admits a StyleServer with spec.template placement and the operator's image by digest", async () => {
    const body = server("placed", (s) => {
      s.image = `stylekube/server@sha256:${"a".repeat(64)}`;
      s.template = {
        metadata: { labels: { team: "vision" } },
        spec: {
          nodeSelector: { pool: "inference" },
          tolerations: [{ key: "inference", operator: "Exists", effect: "NoSchedule" }],
          topologySpreadConstraints: [
            {
              maxSkew: 1,
              topologyKey: "topology.kubernetes.io/zone",
              whenUnsatisfiable: "DoNotSchedule",
              labelSelector: { matchLabels: { "stylekube.io/server": "placed" } },
            },
          ],
        },
      };
    });
    const created = (await create(user, nsDefault, body)) as Body;
    assert.deepEqual((created.spec.template as { spec: { nodeSelector: unknown } }).spec.nodeSelector, {
      pool: "inference",
    });
  });

  it("admits every example in manifests/examples as a namespace user", async () => {
    const dir = join(REPO_ROOT, "manifests/examples");
    const files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    assert.ok(files.length >= 5, "the examples are there");
    for (const file of files)
      for (const doc of parseAllDocuments(readFileSync(join(dir, file), "utf8"))) {
        const body = doc.toJS() as Body & { metadata: { name: string } };
        body.metadata = { ...body.metadata, name: `example-${files.indexOf(file)}-${body.metadata.name}` };
        await assert.doesNotReject(create(user, nsDefault, body), file);
      }
  });

  for (const c of REFUSED) {
    it(`refuses ${c.name}, naming the field`, async () => {
      const message = await refusal(user, nsDefault, c.body);
      assert.match(message, /^403 /);
      assert.match(message, c.message);
      assert.match(message, /ask a cluster administrator to allow it \(chart values admission\./);
    });
  }

  it("refuses the same changes made by an update", async () => {
    await create(user, nsDefault, training("later"));
    const api = user;
    const patch = (body: object) =>
      api.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: nsDefault,
          plural: "styletrainings",
          name: "later",
          body,
        },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
    await assert.rejects(patch({ spec: { image: "registry.example.com/miner:1" } }), (err) => {
      assert.match(apiStatus(err).message, /spec\.image: registry\.example\.com\/miner:1/);
      return true;
    });
    await assert.rejects(
      patch({ spec: { template: { spec: { volumes: [{ name: "root", hostPath: { path: "/" } }] } } } }),
      (err) => {
        assert.match(apiStatus(err).message, /spec\.template\.spec\.volumes: root uses hostPath/);
        return true;
      },
    );
  });

  it("envFrom is refused by the CRD schema itself (no such field)", async () => {
    const body = training("envfrom", (s) =>
      podSpec(s, { envFrom: [{ secretRef: { name: "admin-token" } }] }),
    );
    await assert.rejects(
      user.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace: nsDefault,
        plural: "styletrainings",
        body,
        fieldValidation: "Strict",
      }),
      (err) => {
        assert.match(apiStatus(err).message, /unknown field "spec\.template\.spec\.envFrom"/);
        return true;
      },
    );
  });

  it("a namespace's relaxations admit exactly its cases there", async () => {
    const admitted = [
      training("team-image", (s) => void (s.image = "registry.example.com/team/trainer:2")),
      training("shared-image", (s) => void (s.image = "registry.example.com/shared/trainer:2")),
      training("secret-volume", (s) =>
        podSpec(s, { volumes: [{ name: "keys", secret: { secretName: "team-keys" } }] }),
      ),
      training("secret-env", (s) =>
        podSpec(s, {
          env: [{ name: "TOKEN", valueFrom: { secretKeyRef: { name: "team-keys", key: "t" } } }],
        }),
      ),
      training("node-options", (s) =>
        podSpec(s, { env: [{ name: "NODE_OPTIONS", value: "--max-old-space-size=8192" }] }),
      ),
    ];
    for (const body of admitted) await assert.doesNotReject(create(user, nsTeam, body));
    // What the namespace was not given stays refused.
    const hostPath = training("hostpath", (s) =>
      podSpec(s, { volumes: [{ name: "root", hostPath: { path: "/" } }] }),
    );
    assert.match(await refusal(user, nsTeam, hostPath), /root uses hostPath, not allowed in namespace/);
    const elsewhere = training("elsewhere", (s) => void (s.image = "registry.example.com/miner:1"));
    assert.match(await refusal(user, nsTeam, elsewhere), /is not an allowed image/);
  });

  it("the cluster-wide relaxation applies in every namespace, the per-namespace ones only in theirs", async () => {
    const shared = training("shared-image", (s) => void (s.image = "registry.example.com/shared/trainer:2"));
    await assert.doesNotReject(create(user, nsOther, shared));
    const team = training("team-image", (s) => void (s.image = "registry.example.com/team/trainer:2"));
    assert.match(
      await refusal(user, nsOther, team),
      /registry\.example\.com\/team\/trainer:2 is not an allowed image/,
    );
    const secretVolume = training("secret-volume", (s) =>
      podSpec(s, { volumes: [{ name: "keys", secret: { secretName: "team-keys" } }] }),
    );
    assert.match(await refusal(user, nsOther, secretVolume), /keys uses secret, not allowed/);
  });

  it("the aggregated roles give edit users the API and view users read access only", async () => {
    const authz = admin.makeApiClient(k8s.AuthorizationV1Api);
    const rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
    const core = admin.makeApiClient(k8s.CoreV1Api);
    await core.createNamespacedServiceAccount({ namespace: nsDefault, body: { metadata: { name: "bob" } } });
    await rbac.createNamespacedRoleBinding({
      namespace: nsDefault,
      body: {
        metadata: { name: "bob-view" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
        subjects: [{ kind: "ServiceAccount", name: "bob", namespace: nsDefault }],
      },
    });
    const may = async (who: string, verb: string, resource: string, subresource = "") => {
      const r = await authz.createSubjectAccessReview({
        body: {
          spec: {
            user: `system:serviceaccount:${nsDefault}:${who}`,
            groups: ["system:serviceaccounts", `system:serviceaccounts:${nsDefault}`, "system:authenticated"],
            resourceAttributes: { namespace: nsDefault, group: GROUP, resource, subresource, verb },
          },
        },
      });
      return r.status?.allowed === true;
    };
    // The aggregation controller fills the built-in roles a moment after the ClusterRoles appear.
    await waitFor("aggregation into edit and view", async () => await may("bob", "list", "styletrainings"));
    assert.equal(await may("alice", "create", "styletrainings"), true);
    assert.equal(await may("alice", "update", "styleservers", "scale"), true);
    assert.equal(await may("alice", "update", "styletrainings", "status"), false, "status is the operator's");
    assert.equal(await may("bob", "get", "styleservers"), true);
    assert.equal(await may("bob", "create", "styletrainings"), false);
  });
});
