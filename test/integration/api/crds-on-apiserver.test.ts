// The generated CRDs on a real kube-apiserver: defaults filled by the server,
// invalid objects rejected with the same field and message as zod.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { GROUP, VERSION, validateStyleTraining } from "../../../common/api/index.js";
import {
  INVALID_STYLE_TRAININGS,
  invalidStyleTraining,
  minimalStyleTraining,
} from "../../fixtures/style-trainings.js";
import {
  adminKubeConfig,
  apiStatus,
  applyCrds,
  createNamespace,
  deleteNamespace,
} from "../../support/kubernetes.js";

describe("CRDs on the real apiserver", () => {
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let namespace: string;

  before(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    namespace = await createNamespace(kc, "crds");
  });
  after(async () => {
    await deleteNamespace(kc, namespace);
  });

  const create = (plural: string, body: object, fieldValidation = "Strict") =>
    custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace,
      plural,
      body,
      fieldValidation,
    });

  it("accepts a minimal StyleTraining and fills the same defaults as zod", async () => {
    const created = (await create("styletrainings", minimalStyleTraining("minimal"))) as {
      spec: Record<string, unknown>;
    };
    const local = validateStyleTraining(minimalStyleTraining("minimal"));
    assert.ok(local.ok);
    // The server's defaulting and zod's must agree field by field.
    assert.deepEqual(created.spec, JSON.parse(JSON.stringify(local.value.spec)));
    assert.equal((created.spec.hyperparameters as { iterations: number }).iterations, 40_000);
  });

  for (const c of INVALID_STYLE_TRAININGS) {
    it(`rejects ${c.name} naming ${c.field}, as zod does`, async () => {
      const body = invalidStyleTraining(c, `bad-${INVALID_STYLE_TRAININGS.indexOf(c)}`);
      const zod = validateStyleTraining(body);
      assert.equal(zod.ok, false);
      const zodError = !zod.ok ? zod.errors.find((e) => e.field === c.field) : undefined;
      assert.ok(zodError, `zod did not name ${c.field}`);

      const status = await create("styletrainings", body).then(
        () => assert.fail(`apiserver accepted ${c.name}`),
        apiStatus,
      );
      assert.equal(status.code, 422, status.message);
      const causes = status.details?.causes ?? [];
      const cause = causes.find((x) => x.field === c.field);
      assert.ok(
        cause,
        `apiserver named ${causes.map((x) => x.field).join(", ")}, not ${c.field}: ${status.message}`,
      );
      assert.ok(cause.message.includes(c.message), `apiserver: "${cause.message}" lacks "${c.message}"`);
      assert.ok(
        cause.message.includes(zodError.message),
        `apiserver "${cause.message}" and zod "${zodError.message}" differ`,
      );
    });
  }

  it("rejects an unknown field under strict field validation, as zod does", async () => {
    const body = minimalStyleTraining("typo") as unknown as { spec: Record<string, unknown> };
    body.spec.worker = 2;
    const status = await create("styletrainings", body).then(() => assert.fail("accepted"), apiStatus);
    assert.match(status.message, /spec\.worker/);
    const zod = validateStyleTraining(body);
    assert.ok(!zod.ok && zod.errors.some((e) => e.field === "spec.worker"));
  });

  it("scales a StyleServer through the scale subresource", async () => {
    await create("styleservers", {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: "StyleServer",
      metadata: { name: "default" },
      spec: { styles: { mosaic: { modelURI: "s3://models/mosaic/model/" } } },
    });
    const base = { group: GROUP, version: VERSION, namespace, plural: "styleservers", name: "default" };
    const scale = (await custom.getNamespacedCustomObjectScale(base)) as { spec: { replicas: number } };
    assert.equal(scale.spec.replicas, 1);
    await custom.replaceNamespacedCustomObjectScale({
      ...base,
      body: {
        apiVersion: "autoscaling/v1",
        kind: "Scale",
        metadata: { name: "default", namespace },
        spec: { replicas: 3 },
      },
    });
    const server = (await custom.getNamespacedCustomObject(base)) as { spec: { replicas: number } };
    assert.equal(server.spec.replicas, 3);
  });

  it("serves the printer columns and short name", async () => {
    const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
    const crd = await api.readCustomResourceDefinition({ name: "styletrainings.stylekube.io" });
    assert.deepEqual(crd.spec.names.shortNames, ["st"]);
    assert.deepEqual(crd.status?.acceptedNames?.shortNames, ["st"]);
  });
});
