// @ts-check
import eslint from "@eslint/js";
import tseslint from "typescript-eslint";

// Who may import whom (docs/architecture.md, "Seams"). The components —
// trainer, controller, serving — share code only through model/ (the network
// and its engines) and common/ (API, storage, logs, metrics …); model/ and
// common/ never reach up into a component or into the entry points. Each
// folder lists the top-level folders it must not import from.
const ENTRY_POINTS = ["cli", "demo", "bench", "test", "bin"];
export const BOUNDARIES = {
  serving: ["trainer", "controller", ...ENTRY_POINTS],
  trainer: ["controller", "serving", ...ENTRY_POINTS],
  // controller/serving/ (the StyleServer reconciler) is the controller's own
  // folder: a relative "../serving/" inside controller/ cannot be told from
  // the top-level serving/ by the import text alone, so that one pair is not
  // checked here.
  controller: ["trainer", ...ENTRY_POINTS],
  model: ["trainer", "controller", "serving", ...ENTRY_POINTS],
  common: ["model", "trainer", "controller", "serving", ...ENTRY_POINTS],
};

/**
 * A relative import that climbs out of the folder and into one of `folders`.
 * The slash is written as \x2F because esquery's /regex/ cannot contain "/".
 */
function intoFolders(folders) {
  return `^(\\.\\x2F)?(\\.\\.\\x2F)+(${folders.join("|")})\\x2F`;
}

function boundaryConfig(folder, forbidden) {
  const message = `${folder}/ must not import from ${forbidden.join("/, ")}/: move the shared code to common/ (or model/ for the network) and import it from there.`;
  return {
    files: [`${folder}/**/*.ts`, `${folder}/**/*.js`],
    rules: {
      "no-restricted-imports": ["error", { patterns: [{ regex: intoFolders(forbidden), message }] }],
      // no-restricted-imports does not look at import("…") expressions.
      "no-restricted-syntax": [
        "error",
        { selector: `ImportExpression[source.value=/${intoFolders(forbidden)}/]`, message },
      ],
    },
  };
}

export default tseslint.config(
  {
    ignores: [
      "dist/",
      "node_modules/",
      "charts/*/",
      "manifests/",
      ".stylekube/",
      ".device/",
      "docs/",
      "**/*.tmp.ts",
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-explicit-any": "error",
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
    },
  },
  ...Object.entries(BOUNDARIES).map(([folder, forbidden]) => boundaryConfig(folder, forbidden)),
  {
    files: ["**/*.js"],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
);
