// The images' runtime stages, assembled and run without a Docker engine
// (there is none where this project is developed; docs/operations.md).
//
// The Dockerfile is parsed (dockerfile-ast) and each image target rebuilt (its
// stages, oldest first) in a temporary folder exactly as its COPY lines say: the build stage's `dist`
// from the same `npm run build` compile, the deps stage's node_modules from
// the same `npm ci --omit=dev --ignore-scripts`, and the context files,
// which must not be excluded by .dockerignore. Then its ENTRYPOINT + CMD runs
// with the stage's ENV, /app pointing at that folder:
// - the controller against the test apiserver and NATS, until /healthz,
//   /readyz and the dashboard page answer;
// - the model server until it listens and reports itself live and ready;
//   its image holds no trainer/ file and no module that imports one, and
//   the model's inference engine (wasm, 2 threads) runs from its files;
// - the trainers until they reject an empty worker environment (the worker's
//   module graph loaded), and their engines, which load only when chosen:
//   wasm with two threads, and Dawn for Node.
// The deps stage is `npm ci --prefer-offline`: after the project's own
// `npm ci` the npm cache holds every package, so no network is needed.
// The deps-tfjs-node-gpu stage adds @tensorflow/tfjs-node-gpu, whose install
// downloads libtensorflow: here its worker runs with the plain deps instead,
// as the tensorflow engine is loaded only when chosen. The CUDA targets'
// libraries are checked by cuda-image.test.ts.
// What this cannot check: the base image, the OS packages that RUN installs
// (libvulkan1, the CUDA libraries) and the non-root user.
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { Copy, Entrypoint, Cmd, Env } from "dockerfile-ast";
import { REPO_ROOT, readTestEnv } from "../../env/env-file.js";
import { targetInstructions } from "../../support/dockerfile-targets.js";
import { adminKubeConfig, applyCrds, waitFor } from "../../support/kubernetes.js";
import { PERMANENT_FAILURE_EXIT_CODE } from "../../../common/worker-exit.js";

interface RuntimeStage {
  copies: { from: string | null; sources: string[]; target: string }[];
  env: Record<string, string>;
  command: string[];
}

/** An image target of the Dockerfile: its COPY lines, ENV, and ENTRYPOINT + CMD (JSON form). */
function runtimeStage(target: string): RuntimeStage {
  const stage = targetInstructions(target);
  const out: RuntimeStage = { copies: [], env: {}, command: [] };
  let entrypoint: string[] = [];
  let cmd: string[] = [];
  for (const i of stage) {
    if (i instanceof Copy) {
      const args = i.getArguments().map((a) => a.getValue());
      const target = args.at(-1) as string;
      out.copies.push({ from: i.getFromFlag()?.getValue() ?? null, sources: args.slice(0, -1), target });
    } else if (i instanceof Env) {
      for (const p of i.getProperties()) out.env[p.getName()] = p.getValue() ?? "";
    } else if (i instanceof Entrypoint) {
      entrypoint = i.getJSONStrings().map((s) => s.getJSONValue());
    } else if (i instanceof Cmd) {
      cmd = i.getJSONStrings().map((s) => s.getJSONValue());
    }
  }
  out.command = [...entrypoint, ...cmd];
  return out;
}

/** .dockerignore as gitignore-style rules, last match wins (the subset this repository uses). */
function dockerIgnored(path: string): boolean {
  const rules = readFileSync(resolve(REPO_ROOT, ".dockerignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
  let ignored = false;
  for (const rule of rules) {
    const negate = rule.startsWith("!");
    const pattern = (negate ? rule.slice(1) : rule).replace(/\/$/, "");
    const re = new RegExp(
      `^${pattern
        .split("**")
        .map((part) => part.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*"))
        .join(".*")}(/.*)?$`,
    );
    if (re.test(path)) ignored = !negate;
  }
  return ignored;
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(stage: RuntimeStage, app: string, extraEnv: Record<string, string>): Running {
  const [exe, ...args] = stage.command.map((a) => a.replace(/^\/app(?=\/|$)/, app));
  assert.equal(exe, "node", "the entrypoint runs node");
  let text = "";
  const child = spawn(process.execPath, args, {
    cwd: app,
    env: { PATH: process.env.PATH ?? "", ...stage.env, TMPDIR: tmpdir(), HOME: tmpdir(), ...extraEnv },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout?.on("data", (d: Buffer) => (text += d.toString()));
  child.stderr?.on("data", (d: Buffer) => (text += d.toString()));
  const exit = new Promise<number | null>((res) => child.on("exit", (code) => res(code)));
  return { child, output: () => text, exit };
}

/** The `key` of the first JSON log line whose msg is `msg`. */
function logField(output: string, msg: string, key: string): unknown {
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const entry = JSON.parse(line) as Record<string, unknown>;
    if (entry.msg === msg) return entry[key];
  }
  return undefined;
}

/** Runs an ES-module script with node in an assembled image (cwd /app, the stage's ENV); returns its exit status and output. */
function runScript(
  stage: RuntimeStage,
  app: string,
  script: string,
): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    cwd: app,
    env: { PATH: process.env.PATH ?? "", ...stage.env, HOME: tmpdir(), TMPDIR: tmpdir() },
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe("images: runtime stages run with what their Dockerfiles copy", () => {
  const work = mkdtempSync(join(tmpdir(), "stylekube-images-"));
  const running: Running[] = [];

  before(() => {
    // The build stage: `npm run build` (tsc -p tsconfig.build.json) into its own dist.
    execFileSync(
      process.execPath,
      [
        resolve(REPO_ROOT, "node_modules/typescript/bin/tsc"),
        "-p",
        "tsconfig.build.json",
        "--outDir",
        join(work, "build/dist"),
      ],
      { cwd: REPO_ROOT, stdio: "inherit" },
    );
    // The deps stage: production dependencies only, no install scripts (from the npm cache).
    mkdirSync(join(work, "deps"));
    for (const f of ["package.json", "package-lock.json"])
      cpSync(resolve(REPO_ROOT, f), join(work, "deps", f));
    execFileSync(
      "npm",
      ["ci", "--omit=dev", "--ignore-scripts", "--prefer-offline", "--no-audit", "--no-fund"],
      {
        cwd: join(work, "deps"),
        stdio: "inherit",
      },
    );
  });

  after(() => {
    for (const r of running) r.child.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
  });

  /** Assembles an image target (its stages, oldest first) and returns its /app. */
  function assemble(name: string, stage: RuntimeStage): string {
    const app = join(work, name);
    mkdirSync(app);
    const stages: Record<string, string> = {
      build: join(work, "build"),
      deps: join(work, "deps"),
      "deps-tfjs-node-gpu": join(work, "deps"),
    };
    for (const { from, sources, target } of stage.copies) {
      for (const source of sources) {
        const dest = resolve(
          app,
          target.endsWith("/") ? join(target, source.split("/").at(-1) ?? "") : target,
        );
        mkdirSync(dirname(dest), { recursive: true });
        if (from !== null) {
          const root = stages[from];
          assert.ok(
            root,
            `${name}: COPY --from=${from} names a stage this test builds (${Object.keys(stages).join(", ")})`,
          );
          const src = join(root, source.replace(/^\/app\//, ""));
          assert.ok(existsSync(src), `${name}: COPY --from=${from} ${source}: not produced by that stage`);
          // node_modules is linked (600 MB); dist is copied, as code resolves files relative to itself.
          // A later COPY replaces an earlier one's node_modules (trainer-tfjs-node-gpu's own deps).
          if (source.endsWith("node_modules")) {
            rmSync(dest, { recursive: true, force: true });
            symlinkSync(src, dest);
          } else cpSync(src, dest, { recursive: true });
        } else {
          assert.ok(existsSync(resolve(REPO_ROOT, source)), `${name}: COPY ${source}: not in the repository`);
          assert.ok(
            !dockerIgnored(source),
            `${name}: COPY ${source}: excluded from the build context by .dockerignore`,
          );
          cpSync(resolve(REPO_ROOT, source), dest, { recursive: true });
        }
      }
    }
    return app;
  }

  it("reads .dockerignore as Docker does for the paths the images copy", () => {
    assert.equal(dockerIgnored("trainer"), false);
    assert.equal(dockerIgnored("model"), false);
    assert.equal(dockerIgnored("README.md"), true);
    assert.equal(dockerIgnored("trainer/worker.test.ts"), true);
    assert.equal(dockerIgnored("controller/dashboard/static"), false);
  });

  it("target controller: the operator starts, becomes ready and serves the dashboard", async () => {
    const stage = runtimeStage("controller");
    const app = assemble("controller", stage);
    const env = readTestEnv();
    await applyCrds(adminKubeConfig());
    const r = start(stage, app, {
      KUBECONFIG: env.kubeconfig,
      STYLEKUBE_NATS_URL: env.natsUrl,
      STYLEKUBE_HTTP_PORT: "0",
      STYLEKUBE_DASHBOARD_TOKEN: "image-test-token",
    });
    running.push(r);
    await waitFor(
      "the controller listens",
      async () => logField(r.output(), "controller listening", "address") !== undefined,
      60_000,
    );
    const { port } = logField(r.output(), "controller listening", "address") as { port: number };
    const base = `http://127.0.0.1:${port}`;
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await waitFor("/readyz", async () => (await fetch(`${base}/readyz`)).status === 200, 60_000);
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /stylekube/, "the dashboard's static page is in the image");
    r.child.kill("SIGTERM");
    assert.equal(await r.exit, 0, r.output());
  });

  it("target server: no trainer code; the model server starts, live and ready; its engine runs", async () => {
    const stage = runtimeStage("server");
    const app = assemble("serving", stage);
    const files = (readdirSync(join(app, "dist"), { recursive: true }) as string[]).map((f) =>
      f.split("\\").join("/"),
    );
    assert.ok(files.includes("serving/inference-worker.js"), "the server's files are in the image");
    assert.ok(files.includes("model/engine/engines.js"), "the model's engines are in the image");
    assert.deepEqual(
      files.filter((f) => f.startsWith("trainer/") || f.includes("/trainer/")),
      [],
      "no trainer/ file in the serving image",
    );
    // No module in the image imports trainer code statically (the CLI's
    // dispatcher imports `worker` lazily, only when that command runs).
    const staticTrainerImport = /^\s*(import|export)\b[^;]*from\s*["'][^"']*\/trainer\//m;
    assert.deepEqual(
      files.filter(
        (f) => f.endsWith(".js") && staticTrainerImport.test(readFileSync(join(app, "dist", f), "utf8")),
      ),
      [],
      "no module in the serving image imports trainer/",
    );
    const r = start(stage, app, { STYLEKUBE_HTTP_PORT: "0", STYLEKUBE_HTTP_HOST: "127.0.0.1" });
    running.push(r);
    await waitFor(
      "the model server listens",
      async () => logField(r.output(), "model server listening", "url") !== undefined,
      60_000,
    );
    const url = logField(r.output(), "model server listening", "url") as string;
    assert.equal((await fetch(`${url}/v2/health/live`)).status, 200);
    assert.equal((await fetch(`${url}/v2/health/ready`)).status, 200, "ready: no styles to load");
    r.child.kill("SIGTERM");
    assert.equal(await r.exit, 0, r.output());

    // The inference engine from the image's own files: wasm with 2 threads.
    const probe = runScript(
      stage,
      app,
      `const { initInferenceEngine } = await import("./dist/model/engine/engines.js");
       const tf = await import("@tensorflow/tfjs-core");
       const info = await initInferenceEngine("wasm", { wasmThreads: 2 });
       const y = tf.conv2d(tf.ones([1, 4, 4, 1]), tf.ones([3, 3, 1, 1]), 1, "same");
       console.log("wasm", info.threads, (await y.data()).join(","));`,
    );
    assert.equal(probe.status, 0, probe.output);
    assert.match(
      probe.output,
      /^wasm 2 4,6,6,4,6,9,9,6,6,9,9,6,4,6,6,4$/m,
      "wasm with 2 threads computes a conv",
    );
  });

  for (const target of ["trainer", "trainer-tfjs-node-gpu"]) {
    it(`target ${target}: the worker loads and rejects an empty environment by name; its engines load`, async () => {
      const stage = runtimeStage(target);
      const app = assemble(target, stage);
      const r = start(stage, app, {});
      running.push(r);
      const code = await r.exit;
      assert.equal(
        code,
        PERMANENT_FAILURE_EXIT_CODE,
        `exit code ${PERMANENT_FAILURE_EXIT_CODE} (an environment no retry can fix): ${r.output()}`,
      );
      assert.match(r.output(), /invalid worker environment: STYLEKUBE_JOB_ID/);

      // The engines are imported only when chosen, so load them explicitly from
      // the image's files: wasm with 2 threads (its pthread worker script), and
      // Dawn for webgpu, which either finds a GPU or says it found no adapter.
      const probe = runScript(
        stage,
        app,
        `const { initEngine } = await import("./dist/trainer/engine/engines.js");
         const tf = await import("@tensorflow/tfjs-core");
         const info = await initEngine("wasm", { wasmThreads: 2 });
         const y = tf.conv2d(tf.ones([1, 4, 4, 1]), tf.ones([3, 3, 1, 1]), 1, "same");
         console.log("wasm", info.threads, (await y.data()).join(","));
         try { console.log("webgpu", (await initEngine("webgpu")).engine); }
         catch (err) { console.log("webgpu", err.message); }`,
      );
      const out = probe.output;
      assert.equal(probe.status, 0, out);
      assert.match(out, /^wasm 2 4,6,6,4,6,9,9,6,6,9,9,6,4,6,6,4$/m, "wasm with 2 threads computes a conv");
      assert.match(out, /^webgpu (webgpu|engine webgpu: no WebGPU adapter found)/m, "Dawn for Node loads");
    });
  }

  it("leaves nothing behind", () => {
    for (const r of running) r.child.kill("SIGKILL");
    rmSync(work, { recursive: true, force: true });
    assert.equal(existsSync(work), false);
  });
});
