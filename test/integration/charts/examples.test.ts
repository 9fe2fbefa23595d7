// manifests/examples/ against the real apiserver: server-side apply with
// dryRun=All, so the CRDs' schemas and CEL rules judge every example without
// anything being stored (the zod side is in test/unit/charts).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { REPO_ROOT } from "../../env/env-file.js";
import {
  adminKubeConfig,
  applyCrds,
  apiStatus,
  createNamespace,
  deleteNamespace,
} from "../../support/kubernetes.js";

const dir = resolve(REPO_ROOT, "manifests/examples");
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".yaml"))
  .sort();

describe("manifests/examples on the apiserver (server-side dry run)", () => {
  let kc: k8s.KubeConfig;
  let api: k8s.KubernetesObjectApi;
  let namespace: string;

  before(async () => {
    kc = adminKubeConfig();
    await applyCrds(kc);
    api = k8s.KubernetesObjectApi.makeApiClient(kc);
    namespace = await createNamespace(kc, "examples");
  });
  after(() => deleteNamespace(kc, namespace));

  const dryRunApply = (obj: k8s.KubernetesObject) =>
    api.patch(obj, undefined, "All", "stylekube-tests", true, k8s.PatchStrategy.ServerSideApply);

  it("there are examples", () => assert.ok(files.length >= 5, files.join(", ")));

  for (const file of files) {
    it(`${file} is accepted and nothing is stored`, async () => {
      // loadAllYaml turns YAML into the client's models, whose serializer the patch uses.
      const docs = k8s.loadAllYaml(readFileSync(join(dir, file), "utf8")) as (k8s.KubernetesObject | null)[];
      for (const obj of docs) {
        if (!obj) continue;
        obj.metadata = { ...obj.metadata, namespace };
        const applied = await dryRunApply(obj).catch((err: unknown) => {
          throw new Error(`${file}: ${apiStatus(err).message}`);
        });
        assert.equal(applied.kind, obj.kind);
        // Defaults come back filled in by the CRD's structural schema.
        assert.ok((applied as { spec?: unknown }).spec, "spec returned");
        await assert.rejects(
          api.read({
            apiVersion: obj.apiVersion,
            kind: obj.kind,
            metadata: { name: obj.metadata.name ?? "", namespace },
          }),
          (err) => err instanceof k8s.ApiException && err.code === 404,
        );
      }
    });
  }

  it("the dry run does judge: an invalid example is refused with the CRD's message", async () => {
    const docs = k8s.loadAllYaml(
      readFileSync(join(dir, "styletraining-cpu.yaml"), "utf8"),
    ) as k8s.KubernetesObject[];
    const bad = docs[0] as k8s.KubernetesObject & { spec: { workers: number } };
    bad.metadata = { ...bad.metadata, namespace };
    bad.spec.workers = 0;
    const err = await dryRunApply(bad).then(
      () => assert.fail("workers: 0 was accepted"),
      (e: unknown) => apiStatus(e),
    );
    assert.equal(err.code, 422);
    assert.match(err.message, /spec\.workers/);
  });
});
