import { readFileSync } from "node:fs";

/**
 * The version in stylekube's package.json, found above this file both from
 * the sources (common/, under tsx) and from the build (dist/common/).
 */
export function packageVersion(): string {
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === "stylekube" && pkg.version) return pkg.version;
    } catch {
      // not at this level; try the next
    }
  }
  return "unknown";
}
