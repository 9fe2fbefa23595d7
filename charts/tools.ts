// helm, kubeconform and kube-score for the chart's generator and tests: the versions
// pinned in test/env/build-tools.sh, built by it from their Go modules into the
// same version-keyed cache as the test environment's servers (first call: a few
// minutes; afterwards a lookup).
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { BUILD_SCRIPT, pinnedVersion, TOOLS_DIR } from "../test/env/tools.js";

export const REPO_ROOT = resolve(import.meta.dirname, "..");

const TOOLS = {
  helm: { versionVar: "HELM_VERSION" },
  kubeconform: { versionVar: "KUBECONFORM_VERSION" },
  "kube-score": { versionVar: "KUBE_SCORE_VERSION" },
} as const;
export type ChartTool = keyof typeof TOOLS;

/** The version build-tools.sh pins for `tool` (or the environment's override). */
function pinnedToolVersion(tool: ChartTool): string {
  return pinnedVersion(TOOLS[tool].versionVar);
}

/** Absolute path of the pinned binary, building it with build-tools.sh when it is not cached. */
export function toolPath(tool: ChartTool): string {
  const bin = join(TOOLS_DIR, `${tool}-${pinnedToolVersion(tool)}`, "bin", tool);
  if (existsSync(bin)) return bin;
  process.stderr.write(
    `[charts] ${tool} ${pinnedToolVersion(tool)} is not built yet: running build-tools.sh\n`,
  );
  // Synchronous on purpose: callers (a generator, test set-up) cannot do anything without it.
  const built = spawnSync("bash", [BUILD_SCRIPT, tool], { stdio: ["ignore", "inherit", "inherit"] });
  if (built.status !== 0 || !existsSync(bin)) {
    throw new Error(
      `could not build ${tool} ${pinnedToolVersion(tool)} with \`bash test/env/build-tools.sh ${tool}\` ` +
        `(exit ${built.status ?? built.signal}); it needs Go and the Go module proxy`,
    );
  }
  return bin;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a tool to completion; the result carries the exit status instead of throwing, so tests can assert on failures. */
export function runTool(
  tool: ChartTool,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): RunResult {
  const result = spawnSync(toolPath(tool), args, {
    cwd: REPO_ROOT,
    input,
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    // helm keeps caches, repository config and plugins under $HOME; never touch a real user's.
    env: {
      ...process.env,
      HELM_CACHE_HOME: join(TOOLS_DIR, ".helm/cache"),
      HELM_CONFIG_HOME: join(TOOLS_DIR, ".helm/config"),
      HELM_DATA_HOME: join(TOOLS_DIR, ".helm/data"),
      ...env,
    },
  });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** Like runTool, but any non-zero exit is an error that carries the tool's own message. */
export function runToolOk(tool: ChartTool, args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = runTool(tool, args, env);
  if (r.status !== 0) {
    throw new Error(`${tool} ${args.join(" ")} failed (exit ${r.status}):\n${r.stderr || r.stdout}`);
  }
  return r.stdout;
}
