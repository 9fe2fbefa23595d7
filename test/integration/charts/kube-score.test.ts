// kube-score (the pinned version from test/env/build-tools.sh) on the chart
// with its default values and on manifests/install.yaml: no CRITICAL finding
// except kube-score's opinion that every image should be pulled Always (the
// chart pins a tag or digest and leaves pullPolicy a value).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CHART_DIR, INSTALL_YAML } from "../../../charts/generate.js";
import { runTool, runToolOk } from "../../../charts/tools.js";

/** kube-score's grade for a failed critical check (scorecard.GradeCritical). */
const GRADE_CRITICAL = 1;
const ACCEPTED = new Set(["container-image-pull-policy"]);

interface Scored {
  object_name: string;
  type_meta: { kind: string };
  checks: {
    check: { id: string };
    grade: number;
    skipped: boolean;
    comments: { summary: string }[] | null;
  }[];
}

function criticals(yaml: string): string[] {
  // kube-score exits 1 when anything is critical; the JSON says what.
  const r = runTool("kube-score", ["score", "--output-format", "json", "-"], {}, yaml);
  assert.ok(r.status === 0 || r.status === 1, `kube-score failed to run: ${r.stderr}`);
  const scored = JSON.parse(r.stdout) as Scored[];
  assert.ok(scored.length > 0, "kube-score scored some objects");
  return scored.flatMap((o) =>
    o.checks
      .filter((c) => !c.skipped && c.grade === GRADE_CRITICAL && !ACCEPTED.has(c.check.id))
      .map(
        (c) =>
          `${o.type_meta.kind} ${o.object_name}: ${c.check.id} (${(c.comments ?? []).map((m) => m.summary).join("; ")})`,
      ),
  );
}

describe("kube-score", () => {
  it("finds nothing critical in the chart with default values but the image-pull-policy opinion", () => {
    const yaml = runToolOk("helm", ["template", "stylekube", CHART_DIR, "--namespace", "stylekube-system"]);
    assert.deepEqual(criticals(yaml), []);
  });

  it("finds nothing critical in manifests/install.yaml but the image-pull-policy opinion", () => {
    assert.deepEqual(criticals(readFileSync(INSTALL_YAML, "utf8")), []);
  });

  it("does report what it should: a pod without limits, ephemeral storage or a NetworkPolicy is critical", () => {
    const bare = `apiVersion: apps/v1
kind: Deployment
metadata: {name: bare, namespace: x}
spec:
  replicas: 2
  selector: {matchLabels: {app: bare}}
  template:
    metadata: {labels: {app: bare}}
    spec:
      containers: [{name: c, image: "example/bare:1"}]
`;
    const found = criticals(bare).join("\\n");
    assert.match(found, /container-resources/);
    assert.match(found, /pod-networkpolicy/);
    assert.match(found, /container-ephemeral-storage-request-and-limit/);
  });
});
