// helm and kubeconform for the chart's generator and tests: the versions
// pinned in test/env/build-tools.sh, built by it from their Go modules into the
// same version-keyed cache as the test environment's servers (first call: a few
// minutes; afterwards a lookup).
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";

export const REPO_ROOT = resolve(import.meta.dirname, "..");
const BUILD_SCRIPT = resolve(REPO_ROOT, "test/env/build-tools.sh");
const TOOLS_DIR = process.env.STYLEKUBE_TOOLS_DIR ?? join(homedir(), ".cache/stylekube/tools");

const TOOLS = {
  helm: { versionVar: "HELM_VERSION" },
  kubeconform: { versionVar: "KUBECONFORM_VERSION" },
} as const;
export type ChartTool = keyof typeof TOOLS;

/** `NAME="${NAME:-default}"` in build-tools.sh, overridden by the environment as the script does. */
export function pinnedVersion(tool: ChartTool): string {
  const variable = TOOLS[tool].versionVar;
  const fromEnv = process.env[variable];
  if (fromEnv) return fromEnv;
  const script = readFileSync(BUILD_SCRIPT, "utf8");
  const match = new RegExp(`^${variable}="\\$\\{${variable}:-([^}]+)\\}"`, "m").exec(script);
  if (!match?.[1]) throw new Error(`cannot find the pinned ${variable} in ${BUILD_SCRIPT}`);
  return match[1];
}

/** Absolute path of the pinned binary, building it with build-tools.sh when it is not cached. */
export function toolPath(tool: ChartTool): string {
  const bin = join(TOOLS_DIR, `${tool}-${pinnedVersion(tool)}`, "bin", tool);
  if (existsSync(bin)) return bin;
  process.stderr.write(`[charts] ${tool} ${pinnedVersion(tool)} is not built yet: running build-tools.sh\n`);
  // Synchronous on purpose: callers (a generator, test set-up) cannot do anything without it.
  const built = spawnSync("bash", [BUILD_SCRIPT, tool], { stdio: ["ignore", "inherit", "inherit"] });
  if (built.status !== 0 || !existsSync(bin)) {
    throw new Error(
      `could not build ${tool} ${pinnedVersion(tool)} with \`bash test/env/build-tools.sh ${tool}\` ` +
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
