// `npm run lint` enforces the seams between the components: each case lints
// a one-line fixture as if it were a file in the repository, through the
// project's own eslint.config.js, and checks that a forbidden import fails
// and an allowed one passes.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ESLint } from "eslint";
import { REPO_ROOT } from "../../env/env-file.js";

const eslint = new ESLint({ cwd: REPO_ROOT });

/** The boundary errors eslint reports for `code` placed at `file` (relative to the repository). */
async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(REPO_ROOT, file) });
  assert.ok(result, "eslint returned a result");
  return result.messages
    .filter((m) => m.ruleId === "no-restricted-imports" || m.ruleId === "no-restricted-syntax")
    .map((m) => m.message);
}

const importFrom = (path: string) => `import { thing } from "${path}";\nexport { thing };\n`;

const forbidden: Array<[file: string, code: string, target: string]> = [
  ["serving/fixture.ts", importFrom("../trainer/worker.js"), "trainer/"],
  ["serving/fixture.ts", importFrom("../controller/config.js"), "controller/"],
  ["serving/deeper/fixture.ts", importFrom("../../trainer/onnx/x.js"), "trainer/"],
  ["model/fixture.ts", importFrom("../trainer/worker.js"), "trainer/"],
  ["model/engine/fixture.ts", importFrom("../../serving/app.js"), "serving/"],
  ["model/fixture.ts", importFrom("../controller/main.js"), "controller/"],
  ["trainer/fixture.ts", importFrom("../controller/config.js"), "controller/"],
  ["trainer/onnx/fixture.ts", `export * from "../../controller/config.js";\n`, "controller/"],
  ["controller/fixture.ts", importFrom("../trainer/worker.js"), "trainer/"],
  [
    "controller/kube/fixture.ts",
    `import type { T } from "../../trainer/x.js";\nexport type { T };\n`,
    "trainer/",
  ],
  ["common/fixture.ts", importFrom("../trainer/worker.js"), "trainer/"],
  ["common/storage/fixture.ts", importFrom("../../serving/app.js"), "serving/"],
  ["common/fixture.ts", importFrom("../controller/main.js"), "controller/"],
  // import("…") is not an import declaration; it is checked all the same.
  ["serving/fixture.ts", `export const m = await import("../trainer/worker.js");\n`, "trainer/"],
];

const allowed: Array<[file: string, code: string]> = [
  ["serving/fixture.ts", importFrom("../common/log/logger.js")],
  ["serving/fixture.ts", importFrom("../model/transformer-net.js")],
  ["trainer/onnx/fixture.ts", importFrom("../../model/layers.js")],
  ["controller/fixture.ts", importFrom("../common/api/index.js")],
  // controller/serving/ is the controller's own folder, not the model server.
  ["controller/dashboard/fixture.ts", importFrom("../serving/reconciler.js")],
  ["model/fixture.ts", importFrom("../common/storage/store.js")],
  ["trainer/fixture.ts", importFrom("./onnx/step.js")],
  // Entry points may import every component.
  ["cli/fixture.ts", importFrom("../trainer/worker.js")],
];

describe("import boundaries (eslint.config.js)", () => {
  for (const [file, code, target] of forbidden) {
    const from = file.split("/")[0]!;
    it(`${file}: ${code.trim().split("\n")[0]} fails lint`, async () => {
      const errors = await boundaryErrors(file, code);
      assert.equal(errors.length, 1, `one boundary error, got ${JSON.stringify(errors)}`);
      assert.match(errors[0]!, new RegExp(`${from}/ must not import from .*${target}`));
      assert.match(errors[0]!, /move the shared code to common\//);
    });
  }

  for (const [file, code] of allowed) {
    it(`${file}: ${code.trim().split("\n")[0]} passes`, async () => {
      assert.deepEqual(await boundaryErrors(file, code), []);
    });
  }
});
