// What the chart, the examples and the images must agree on, checked without
// helm or a cluster (test/integration/charts renders and installs the chart).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { describe, it } from "node:test";
import { parse, parseAllDocuments } from "yaml";
import { chartCopies, CHART_DIR } from "../../../charts/generate.js";
import { ENGINES, validateResource } from "../../../common/api/index.js";
import { REPO_ROOT } from "../../env/env-file.js";
import { DOCKERFILE, dockerfileStages, targetText } from "../../support/dockerfile-targets.js";

type Schema = {
  type?: string | string[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  description?: string;
};

const valuesSchema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as Schema;
const values = parse(readFileSync(join(CHART_DIR, "values.yaml"), "utf8")) as Record<string, unknown>;

describe("chart files copied from manifests/", () => {
  for (const [file, content] of chartCopies()) {
    it(`${relative(REPO_ROOT, file)} is current (run \`tsx charts/generate.ts\` if this fails)`, () => {
      assert.equal(readFileSync(file, "utf8"), content);
    });
  }

  it("crds/ holds exactly the generated CRDs (a removed kind must not linger)", () => {
    const expected = [...chartCopies().keys()]
      .filter((f) => f.startsWith(join(CHART_DIR, "crds")))
      .map((f) => relative(join(CHART_DIR, "crds"), f));
    assert.deepEqual(readdirSync(join(CHART_DIR, "crds")).sort(), expected.sort());
    assert.ok(expected.length >= 2, "both CRDs are copied");
  });
});

describe("values.yaml and values.schema.json", () => {
  // Every object the chart owns is closed, so a misspelt key fails `helm install`.
  it("every object in the schema is strict or explicitly a pass-through", () => {
    const open: string[] = [];
    const walk = (s: Schema, path: string) => {
      if (s.properties) {
        if (s.additionalProperties !== false) open.push(path || "(root)");
        for (const [k, v] of Object.entries(s.properties)) walk(v, `${path}.${k}`);
      }
      if (s.items) walk(s.items, `${path}[]`);
    };
    walk(valuesSchema, "");
    // extraEnv items are core/v1 EnvVar objects: only `name` is checked here, the apiserver checks the rest.
    assert.deepEqual(open, [".controller.extraEnv[]"]);
  });

  it("every key in values.yaml is declared and described in the schema", () => {
    const missing: string[] = [];
    const walk = (value: unknown, schema: Schema | undefined, path: string) => {
      if (!schema) return void missing.push(`${path} (not in schema)`);
      if (!schema.description && path !== "") missing.push(`${path} (no description)`);
      if (value === null || typeof value !== "object" || Array.isArray(value) || !schema.properties) return;
      for (const [k, v] of Object.entries(value)) walk(v, schema.properties[k], `${path}.${k}`);
    };
    walk(values, valuesSchema, "");
    assert.deepEqual(missing, []);
  });

  it("the images default to the package version through appVersion", () => {
    const chart = parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as { appVersion: string };
    const pkg = JSON.parse(readFileSync(resolve(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal(chart.appVersion, pkg.version);
    for (const part of ["controller", "trainer", "server"] as const) {
      const image = (values[part] as { image: { tag: string } }).image;
      assert.equal(image.tag, "", `${part}.image.tag must be empty so appVersion applies`);
    }
  });
});

describe("manifests/examples", () => {
  const dir = resolve(REPO_ROOT, "manifests/examples");
  const files = readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .sort();
  const objects = files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), "utf8")).map((d) => ({ file: f, obj: d.toJS() as unknown })),
  );

  for (const { file, obj } of objects) {
    it(`${file} passes the zod schema`, () => {
      const result = validateResource(obj);
      assert.ok(result.ok, result.ok ? "" : `${file}: ${result.message}`);
    });
  }

  it("there is a StyleTraining for every engine but auto, and an autoscaled StyleServer", () => {
    const engines = new Set<string>();
    let autoscaled = false;
    for (const { obj } of objects) {
      const result = validateResource(obj);
      if (!result.ok) continue;
      const v = result.value;
      if (v.kind === "StyleTraining") engines.add(v.spec.engine);
      else if (v.spec.autoscaling) autoscaled = true;
    }
    assert.deepEqual([...engines].sort(), ENGINES.filter((e) => e !== "auto").sort());
    assert.ok(autoscaled, "a StyleServer with spec.autoscaling");
  });

  it("CPU engines ask for no GPU and GPU engines for at least one", () => {
    for (const { file, obj } of objects) {
      const result = validateResource(obj);
      if (!result.ok || result.value.kind !== "StyleTraining") continue;
      const { engine, resources } = result.value.spec;
      const wantsGpu = engine === "webgpu" || engine === "tensorflow";
      assert.equal(resources.gpu > 0, wantsGpu, `${file}: engine ${engine} with gpu ${resources.gpu}`);
    }
  });
});

describe("Dockerfile: one target per image", () => {
  // The operator starts its pods with exactly these args (controller/training/worker-pods.ts,
  // controller/serving/server-resources.ts); the chart passes "controller".
  const images = [
    { target: "controller", arg: "controller" },
    { target: "server", arg: "serve" },
    { target: "trainer", arg: "worker" },
    { target: "trainer-cuda", arg: "worker" },
    { target: "server-cuda", arg: "serve" },
    { target: "trainer-tfjs-node-gpu", arg: "worker" },
  ];
  const text = readFileSync(resolve(REPO_ROOT, DOCKERFILE), "utf8");
  const stages = dockerfileStages();

  it("one build stage; every stage FROM the NODE_IMAGE argument (default node:24-bookworm-slim) or an earlier stage", () => {
    assert.match(text, /^ARG NODE_IMAGE=docker\.io\/library\/node:24-bookworm-slim$/m);
    assert.ok(text.indexOf("ARG NODE_IMAGE") < text.indexOf("\nFROM "), "declared before the first FROM");
    assert.equal((text.match(/npm run build/g) ?? []).length, 1, "TypeScript is compiled in one stage");
    const names = [...stages.keys()];
    for (const [name, stage] of stages) {
      const earlier = names.slice(0, names.indexOf(name));
      assert.ok(
        stage.from === "${NODE_IMAGE}" || earlier.includes(stage.from),
        `stage ${name}: FROM ${stage.from}`,
      );
    }
  });

  for (const { target, arg } of images) {
    const runtime = targetText(target, stages);

    it(`${target}: production dependencies only, uid 1000, writes only to /tmp`, () => {
      assert.match(runtime, /COPY --from=(deps|deps-tfjs-node-gpu) \/app\/node_modules/);
      assert.doesNotMatch(runtime, /COPY --from=build \/app\/node_modules/);
      const users = runtime.match(/^USER .*$/gm) ?? [];
      assert.equal(users.at(-1), "USER 1000:1000", "the last USER is uid 1000");
      assert.match(runtime, /^ENV .*TMPDIR=\/tmp/m);
      assert.match(runtime, /^ENV .*NODE_ENV=production/m);
    });

    it(`${target}: entrypoint node /app/bin/stylekube.js, default args ${arg}`, () => {
      assert.match(runtime, /^ENTRYPOINT \["node", "\/app\/bin\/stylekube\.js"\]$/m);
      const cmds = runtime.match(/^CMD .*$/gm) ?? [];
      assert.equal(cmds.at(-1), `CMD ["${arg}"]`);
    });
  }

  it("the trainer images carry the Vulkan loader and ask the NVIDIA runtime for graphics", () => {
    for (const target of ["trainer", "trainer-cuda", "trainer-tfjs-node-gpu"]) {
      const runtime = targetText(target, stages);
      assert.match(runtime, /libvulkan1/, target);
      assert.match(runtime, /NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics/, target);
    }
  });

  it("the CUDA images put ORT's provider beside its binding and the CUDA libraries on LD_LIBRARY_PATH", () => {
    for (const target of ["trainer-cuda", "server-cuda"]) {
      const runtime = targetText(target, stages);
      assert.match(
        runtime,
        /^COPY --from=cuda onnxruntime\/ \/app\/node_modules\/onnxruntime-node\/bin\/napi-v6\/linux\/x64\/$/m,
        target,
      );
      assert.match(runtime, /^COPY --from=cuda lib\/ \/opt\/stylekube\/cuda\/lib\/$/m, target);
      assert.match(runtime, /^ENV LD_LIBRARY_PATH=\/opt\/stylekube\/cuda\/lib$/m, target);
      assert.match(runtime, /^ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility/m, target);
    }
  });

  it("the tfjs-node-gpu variant takes its node_modules from a stage that installs @tensorflow/tfjs-node-gpu", () => {
    const deps = stages
      .get("deps-tfjs-node-gpu")
      ?.instructions.map((i) => i.getTextContent())
      .join("\n");
    assert.match(deps ?? "", /@tensorflow\/tfjs-node-gpu@/);
    const copies = targetText("trainer-tfjs-node-gpu", stages).match(
      /^COPY --from=\S+ \/app\/node_modules.*$/gm,
    );
    assert.equal(copies?.at(-1), "COPY --from=deps-tfjs-node-gpu /app/node_modules ./node_modules");
  });

  it("images/build.sh builds exactly these targets", () => {
    const script = readFileSync(resolve(REPO_ROOT, "images/build.sh"), "utf8");
    const declared = /declare -A IMAGE=\(([^)]*)\)/.exec(script)?.[1] ?? "";
    const targets = [...declared.matchAll(/\[([\w-]+)\]=/g)].map((m) => m[1]);
    assert.deepEqual(targets.sort(), images.map((i) => i.target).sort());
  });
});

describe("charts/stylekube-stack (stylekube with the official NATS and MinIO charts)", () => {
  const dir = resolve(REPO_ROOT, "charts/stylekube-stack");
  const chart = parse(readFileSync(join(dir, "Chart.yaml"), "utf8")) as {
    dependencies: { name: string; version: string; repository: string; condition?: string }[];
  };
  const stackValues = parse(readFileSync(join(dir, "values.yaml"), "utf8")) as Record<
    string,
    Record<string, unknown>
  >;

  it("depends on this repository's stylekube chart at its current version", () => {
    const own = parse(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as { version: string };
    const dep = chart.dependencies.find((d) => d.name === "stylekube");
    assert.deepEqual(dep, { name: "stylekube", version: own.version, repository: "file://../stylekube" });
  });

  it("NATS and MinIO are optional and off by default", () => {
    for (const name of ["nats", "minio"]) {
      const dep = chart.dependencies.find((d) => d.name === name);
      assert.equal(dep?.condition, `${name}.enabled`);
      assert.equal(stackValues[name]?.enabled, false);
    }
  });

  it("its stylekube values pass the stylekube chart's schema keys", () => {
    // Only keys the stylekube schema declares (the schema itself is strict).
    const sub = stackValues.stylekube as Record<string, Record<string, unknown>>;
    for (const [section, keys] of Object.entries(sub)) {
      const declared = valuesSchema.properties?.[section]?.properties ?? {};
      for (const key of Object.keys(keys)) assert.ok(key in declared, `stylekube.${section}.${key}`);
    }
  });
});
