// `npm test`: runs every test under test/ with node's test runner. Integration
// tests need the real environment (NATS, MinIO, kube-apiserver …); it is
// brought up first when it is not already running.
//   npm test                      all tests
//   npm test -- --unit            unit tests only (no servers)
//   npm test -- test/unit/api     only files under the given paths
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative, resolve } from "node:path";
import { REPO_ROOT } from "./env/env-file.js";
import { describeMissing, missingPrerequisites } from "./env/prerequisites.js";

function findTests(dir: string): string[] {
  const st = statSync(dir, { throwIfNoEntry: false });
  if (!st) return [];
  if (st.isFile()) return dir.endsWith(".test.ts") ? [dir] : [];
  return readdirSync(dir)
    .sort()
    .flatMap((name) => findTests(join(dir, name)));
}

const args = process.argv.slice(2);
const unitOnly = args.includes("--unit");
const paths = args.filter((a) => !a.startsWith("--"));
const roots =
  paths.length > 0
    ? paths.map((p) => resolve(p))
    : [resolve(REPO_ROOT, "test/unit"), resolve(REPO_ROOT, "test/integration")];
const files = roots
  .flatMap(findTests)
  .filter((f) => !unitOnly || !relative(REPO_ROOT, f).startsWith("test/integration"));

if (files.length === 0) {
  console.error(`no test files under ${roots.join(", ")}`);
  process.exit(1);
}

const missing = missingPrerequisites(files);
if (missing.length > 0) {
  console.error(describeMissing(missing));
  process.exit(1);
}

if (files.some((f) => relative(REPO_ROOT, f).startsWith("test/integration"))) {
  const { ensureTestEnv } = await import("./env/ensure.js");
  const env = await ensureTestEnv();
  console.log(
    `test environment: ${env.provider}, kubernetes ${env.kubernetesVersion}, nats ${env.natsUrl}, s3 ${env.s3.endpoint}`,
  );
}

// spec for people, TAP to a file so the totals can be printed as one plain
// line that any CI reads ("N passed, N failed").
const tapFile = join(mkdtempSync(join(tmpdir(), "stylekube-test-")), "results.tap");
const child = spawn(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tapFile}`,
    "--test-timeout=600000",
    ...files.map((f) => relative(REPO_ROOT, f)),
  ],
  {
    cwd: REPO_ROOT,
    stdio: "inherit",
    env: {
      ...process.env,
      STYLEKUBE_LOG_LEVEL: process.env.STYLEKUBE_LOG_LEVEL ?? "warn",
      // The AWS SDK warns on every client that Node 20 support ends in 2027; known, and noise in test output.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    },
  },
);
child.on("exit", (code, signal) => {
  const tap = existsSync(tapFile) ? readFileSync(tapFile, "utf8") : "";
  const count = (name: string) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(tap)?.[1] ?? 0);
  const failed = count("fail") + count("cancelled");
  console.log(
    `\n${count("pass")} passed, ${failed} failed${count("skipped") ? `, ${count("skipped")} skipped` : ""}`,
  );
  process.exit(code ?? (signal ? 1 : 0));
});
