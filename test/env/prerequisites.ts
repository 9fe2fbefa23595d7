// What `npm test` needs from the machine besides npm packages, checked before
// anything runs, so a fresh machine gets one message listing every missing
// program and how to install it instead of a test failing half-way through.
import { accessSync, constants } from "node:fs";
import { delimiter, join, relative } from "node:path";
import { REPO_ROOT } from "./env-file.js";

export interface Prerequisite {
  /** Program name on PATH, or an absolute path. */
  program: string;
  /** Debian package that provides it. */
  debianPackage: string;
  /** Who needs it, for the message. */
  neededBy: string;
  /** Whether a test file (path relative to the repository) needs it. */
  appliesTo: (testFile: string) => boolean;
}

const integration = (f: string): boolean => f.startsWith("test/integration/");

/** Where the browser tests find Chromium (STYLEKUBE_CHROMIUM overrides). */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.STYLEKUBE_CHROMIUM ?? "/usr/bin/chromium";
}

export function prerequisites(env: NodeJS.ProcessEnv = process.env): Prerequisite[] {
  return [
    {
      program: "openssl",
      debianPackage: "openssl",
      neededBy: "the test environment's certificates",
      appliesTo: integration,
    },
    { program: "curl", debianPackage: "curl", neededBy: "the test environment", appliesTo: integration },
    {
      program: chromiumPath(env),
      debianPackage: "chromium",
      neededBy: "the dashboard's browser tests (or set STYLEKUBE_CHROMIUM to a Chromium binary)",
      appliesTo: (f) => f.startsWith("test/integration/dashboard/"),
    },
  ];
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether `program` (a name looked up on PATH, or a path) can be run. */
export function found(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (program.includes("/")) return isExecutable(program);
  return (env.PATH ?? "").split(delimiter).some((dir) => dir !== "" && isExecutable(join(dir, program)));
}

/** The prerequisites the given test files need that this machine lacks. */
export function missingPrerequisites(
  testFiles: string[],
  env: NodeJS.ProcessEnv = process.env,
): Prerequisite[] {
  const rel = testFiles.map((f) => relative(REPO_ROOT, f));
  return prerequisites(env).filter((p) => rel.some(p.appliesTo) && !found(p.program, env));
}

/** One message naming every missing program, who needs it and the install command. */
export function describeMissing(missing: Prerequisite[]): string {
  const packages = [...new Set(missing.map((p) => p.debianPackage))];
  return [
    "npm test: this machine lacks programs the selected tests need:",
    ...missing.map((p) => `  - ${p.program} (${p.debianPackage}), for ${p.neededBy}`),
    `Install them (Debian/Ubuntu, as root): apt-get install -y --no-install-recommends ${packages.join(" ")}`,
    "or run only the tests that need no servers: npm test -- --unit",
  ].join("\n");
}
