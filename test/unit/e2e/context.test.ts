// The e2e's context file: the kind example in the repository is valid, the
// kubeconfig defaults like kubectl's, and a bad field is named.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { defaultKubeconfig, parseE2eContext } from "../../e2e/context.js";
import { REPO_ROOT } from "../../env/env-file.js";

const example = JSON.parse(
  readFileSync(resolve(REPO_ROOT, "test/e2e/context.kind.example.json"), "utf8"),
) as Record<string, unknown>;

describe("e2e context", () => {
  const dir = mkdtempSync(join(tmpdir(), "stylekube-e2e-context-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\n");
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("takes the kubeconfig from KUBECONFIG when the file names none (the kind example)", () => {
    const ctx = parseE2eContext(example, "example", { KUBECONFIG: kubeconfig });
    assert.equal(ctx.kubeconfig, kubeconfig);
    assert.equal(ctx.operator.hostNetwork, false);
    assert.deepEqual(ctx.cordon, []);
    assert.equal(ctx.nodeName, undefined);
    assert.match(ctx.killCommand, /\{containerID\}/);
  });

  it("uses the first file of a KUBECONFIG list, else ~/.kube/config", () => {
    assert.equal(defaultKubeconfig({ KUBECONFIG: `:${kubeconfig}:/other` }), kubeconfig);
    assert.equal(defaultKubeconfig({ HOME: "/home/u" }), "/home/u/.kube/config");
  });

  it("names a missing kubeconfig file and how to set it", () => {
    assert.throws(
      () => parseE2eContext({ ...example, kubeconfig: join(dir, "absent") }, "ctx.json"),
      /ctx\.json: kubeconfig .*absent does not exist: set "kubeconfig" in the context file or KUBECONFIG/,
    );
  });

  it("names a bad field", () => {
    assert.throws(
      () => parseE2eContext({ ...example, kubeconfig, killCommand: "crictl stop" }, "ctx.json"),
      /ctx\.json: invalid e2e context: killCommand:/,
    );
  });
});
