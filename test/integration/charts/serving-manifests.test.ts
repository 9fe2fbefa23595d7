// manifests/serving/ (serving a model.onnx with Triton and with KServe,
// docs/onnx.md) validated by kubeconform -strict against the test
// apiserver's own schemas. Triton's manifests are built-in kinds. KServe's
// InferenceService needs KServe's CRD, which is not part of this repository:
// given its YAML in STYLEKUBE_KSERVE_CRD (serving.kserve.io_inferenceservices.yaml
// from the kserve repository's config/crd/full/), the test installs it and
// checks the manifest against its schema; without it that check is skipped
// and says why.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { runTool } from "../../../charts/tools.js";
import { REPO_ROOT } from "../../env/env-file.js";
import { adminKubeConfig, applyCrdFile } from "../../support/kubernetes.js";
import { writeKubeconformSchemas, type SchemaSet } from "./kube-schemas.js";

const KSERVE_CRD = process.env.STYLEKUBE_KSERVE_CRD;
const INFERENCE_SERVICE = "serving.kserve.io/v1beta1/InferenceService";
const kserveSkip =
  KSERVE_CRD === undefined
    ? "STYLEKUBE_KSERVE_CRD is not set (KServe's InferenceService CRD is not in this repository)"
    : !existsSync(KSERVE_CRD)
      ? `STYLEKUBE_KSERVE_CRD=${KSERVE_CRD} does not exist`
      : false;

describe("manifests/serving against the apiserver's schemas (kubeconform -strict)", () => {
  let schemas: SchemaSet;
  let schemaDir: string;

  before(async () => {
    const kc = adminKubeConfig();
    if (kserveSkip === false && KSERVE_CRD !== undefined) await applyCrdFile(kc, KSERVE_CRD);
    schemaDir = mkdtempSync(join(tmpdir(), "stylekube-serving-schemas-"));
    schemas = await writeKubeconformSchemas(kc, schemaDir);
    // The apiserver publishes a new CRD's OpenAPI a little after it is
    // Established (seconds for KServe's 2 MB schema): wait for it, bounded.
    for (let i = 0; i < 30 && kserveSkip === false && !schemas.kinds.includes(INFERENCE_SERVICE); i++) {
      await new Promise((r) => setTimeout(r, 2000));
      schemas = await writeKubeconformSchemas(kc, schemaDir);
    }
  });
  after(() => rmSync(schemaDir, { recursive: true, force: true }));

  function kubeconform(file: string): { valid: number; documents: number } {
    const yaml = readFileSync(resolve(REPO_ROOT, "manifests/serving", file), "utf8");
    const r = runTool(
      "kubeconform",
      ["-strict", "-summary", "-output", "json", "-schema-location", schemas.location, "-"],
      {},
      yaml,
    );
    assert.equal(r.status, 0, `${file}: kubeconform says\n${r.stdout}\n${r.stderr}`);
    const summary = (JSON.parse(r.stdout) as { summary: Record<string, number> }).summary;
    assert.deepEqual({ invalid: summary.invalid, errors: summary.errors }, { invalid: 0, errors: 0 });
    return { valid: summary.valid ?? 0, documents: parseAllDocuments(yaml).length };
  }

  it("triton-onnx.yaml (Secret, Deployment, Service) is valid", () => {
    const { valid, documents } = kubeconform("triton-onnx.yaml");
    assert.equal(documents, 3);
    assert.equal(valid, documents);
  });

  it("a mistyped key in a Triton manifest is caught", () => {
    const yaml = readFileSync(resolve(REPO_ROOT, "manifests/serving/triton-onnx.yaml"), "utf8").replace(
      "readinessProbe:",
      "readinesProbe:",
    );
    const r = runTool("kubeconform", ["-strict", "-schema-location", schemas.location, "-"], {}, yaml);
    assert.notEqual(r.status, 0, "kubeconform accepted readinesProbe");
  });

  it("kserve-onnx.yaml (InferenceService) is valid against KServe's CRD", { skip: kserveSkip }, () => {
    assert.ok(
      schemas.kinds.includes("serving.kserve.io/v1beta1/InferenceService"),
      "the CRD's schema is served",
    );
    const { valid, documents } = kubeconform("kserve-onnx.yaml");
    assert.equal(valid, documents);
  });
});
