// The CUDA images (Dockerfile targets trainer-cuda and server-cuda) on a
// machine without a GPU: their ONNX Runtime CUDA provider with every library
// it needs, and ORT failing for want of a device, not of a library.
//
// images/cuda-libs.sh makes the folder that `npm run images -- --gpu` passes
// to the build as the `cuda` context (the real PyPI wheels, ≈1.6 GB fetched
// once into ~/.cache/stylekube/cuda). The target's own COPY --from=cuda
// lines and ENV LD_LIBRARY_PATH are read from the Dockerfile and laid out
// under a temporary root (symlinked, not copied: 2.6 GB), with
// onnxruntime-node from this checkout's node_modules (the deps stage's
// `npm ci` installs the same locked version). Then:
// - ldd of the provider and of every CUDA library resolves everything but
//   libcuda.so.1, the driver's library, which the NVIDIA container runtime
//   mounts on a GPU node and the image must not carry;
// - ORT asked for the cuda provider fails on libcuda.so.1 alone;
// - with a real driver library (Debian's libcuda1 550) in its place, every
//   library loads and the CUDA runtime fails talking to the driver: error 35,
//   the driver is older than CUDA 13 (r580+ needed). On an r580+ driver
//   without a GPU that is error 100, no device; on a GPU, bench/gpu/cuda.sh.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { Copy, Env } from "dockerfile-ast";
import { GraphBuilder } from "../../../model/onnx/graph.js";
import {
  CUDA_DRIVER_LIBRARY,
  CUDA_RUNTIME_LIBRARIES,
  explainCudaFailure,
  missingLibraries,
} from "../../../model/onnx/cuda-libraries.js";
import * as ops from "../../../model/onnx/ops.js";
import { serializeModel } from "../../../model/onnx/serialize.js";
import { REPO_ROOT } from "../../env/env-file.js";
import { targetInstructions } from "../../support/dockerfile-targets.js";
import { debianLibcudaDir } from "../../support/nvidia-driver-library.js";

const ORT_BIN = "node_modules/onnxruntime-node/bin/napi-v6/linux/x64";

/** The image's files under `root`: what the target's COPY --from=cuda lines put where, and its LD_LIBRARY_PATH. */
function layOutCudaTarget(target: string, cudaDir: string, root: string): { ldLibraryPath: string } {
  let ldLibraryPath = "";
  for (const i of targetInstructions(target)) {
    if (i instanceof Env) {
      for (const p of i.getProperties())
        if (p.getName() === "LD_LIBRARY_PATH") ldLibraryPath = p.getValue() ?? "";
    } else if (i instanceof Copy && i.getFromFlag()?.getValue() === "cuda") {
      const [source, dest] = i.getArguments().map((a) => a.getValue());
      assert.ok(source !== undefined && dest !== undefined && dest.startsWith("/"), i.getTextContent());
      const into = join(root, dest);
      mkdirSync(into, { recursive: true });
      for (const f of readdirSync(join(cudaDir, source)))
        symlinkSync(join(cudaDir, source, f), join(into, f));
    }
  }
  assert.notEqual(ldLibraryPath, "", `${target} sets LD_LIBRARY_PATH`);
  return {
    ldLibraryPath: ldLibraryPath
      .split(":")
      .map((d) => join(root, d))
      .join(":"),
  };
}

/** "libx.so => not found" lines of ldd for every file in `dirs`, as "file: library". */
function unresolved(dirs: string[], ldLibraryPath: string): string[] {
  const out: string[] = [];
  for (const dir of dirs) {
    for (const f of readdirSync(dir).filter((n) => /\.so(\.|$)/.test(n))) {
      const text = execFileSync("ldd", [join(dir, f)], {
        env: { LD_LIBRARY_PATH: ldLibraryPath },
        encoding: "utf8",
      });
      for (const m of text.matchAll(/^\s*(\S+) => not found/gm)) out.push(`${f}: ${m[1]}`);
    }
  }
  return out;
}

/** The one-conv graph the provider probe runs (model/onnx/providers.ts). */
function probeModel(): Uint8Array {
  const g = new GraphBuilder("probe");
  const x = g.input("x", [1, 2, 4, 4]);
  const w = g.initializer("w", new Float32Array(18).fill(1 / 18), [1, 2, 3, 3]);
  g.namedOutput(ops.unary(g, "Relu", ops.conv(g, x, w, undefined, { pads: [1, 1, 1, 1] })), "y");
  return serializeModel(g, { producer: "stylekube-test", producerVersion: "1" });
}

/** ORT in the laid-out /app, asked for the cuda provider: its error message and stderr. */
function sessionOnCuda(app: string, ldLibraryPath: string): { message: string; stderr: string } {
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import * as ort from "onnxruntime-node";
       import { readFileSync } from "node:fs";
       try {
         await ort.InferenceSession.create(readFileSync("probe.onnx"), { executionProviders: ["cuda"] });
         console.log("MESSAGE session created");
       } catch (err) { console.log("MESSAGE " + err.message.replace(/\\n/g, " ")); }`,
    ],
    {
      cwd: app,
      env: { PATH: process.env.PATH ?? "", LD_LIBRARY_PATH: ldLibraryPath },
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
  return { message: /^MESSAGE (.*)$/m.exec(r.stdout)?.[1] ?? "", stderr: r.stderr };
}

for (const target of ["trainer-cuda", "server-cuda"]) {
  describe(`image ${target}: ONNX Runtime's CUDA provider without a GPU`, () => {
    const work = mkdtempSync(join(tmpdir(), `stylekube-${target}-`));
    const app = join(work, "app");
    let ldLibraryPath = "";

    before(() => {
      const cudaDir = execFileSync("bash", [resolve(REPO_ROOT, "images/cuda-libs.sh")], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "inherit"],
        timeout: 1_200_000,
      })
        .trim()
        .split("\n")
        .at(-1) as string;
      // /app/node_modules as the deps stage leaves it, for the two packages ORT needs.
      mkdirSync(join(app, "node_modules"), { recursive: true });
      cpSync(
        resolve(REPO_ROOT, "node_modules/onnxruntime-node"),
        join(app, "node_modules/onnxruntime-node"),
        {
          recursive: true,
        },
      );
      symlinkSync(
        resolve(REPO_ROOT, "node_modules/onnxruntime-common"),
        join(app, "node_modules/onnxruntime-common"),
      );
      // The image's root is the temporary folder: COPY to /app/... lands in app/.
      ({ ldLibraryPath } = layOutCudaTarget(target, cudaDir, work));
      writeFileSync(join(app, "probe.onnx"), probeModel());
    });

    after(() => rmSync(work, { recursive: true, force: true }));

    it("every library the provider and the CUDA libraries link resolves, but the driver's libcuda.so.1", () => {
      const libDirs = ldLibraryPath.split(":");
      const missing = unresolved([join(app, ORT_BIN), ...libDirs], ldLibraryPath);
      assert.ok(missing.length > 0, "the driver's library is not in the image");
      assert.deepEqual(
        missing.filter((m) => !m.endsWith(`: ${CUDA_DRIVER_LIBRARY}`)),
        [],
        "nothing but the driver's library is missing",
      );
      assert.ok(missing.includes(`libonnxruntime_providers_cuda.so: ${CUDA_DRIVER_LIBRARY}`));
      // What the provider opens itself (cuDNN, cuFFT) and what the doctor checks for are there too.
      assert.deepEqual(missingLibraries(CUDA_RUNTIME_LIBRARIES, libDirs), []);
      assert.equal(
        readdirSync(join(app, ORT_BIN))
          .filter((f) => f.startsWith("libonnxruntime_providers_"))
          .sort()
          .join(","),
        "libonnxruntime_providers_cuda.so,libonnxruntime_providers_shared.so",
      );
    });

    it("ORT fails on the driver's library alone, and the doctor says so", () => {
      const { message, stderr } = sessionOnCuda(app, ldLibraryPath);
      assert.match(message, /Failed to load shared library/);
      assert.match(
        stderr,
        /libonnxruntime_providers_cuda\.so with error: libcuda\.so\.1: cannot open shared object file/,
      );
      const explained = explainCudaFailure(message, () =>
        missingLibraries([CUDA_DRIVER_LIBRARY, ...CUDA_RUNTIME_LIBRARIES], ldLibraryPath.split(":")),
      );
      assert.match(
        explained ?? "",
        /libcuda\.so\.1 \(the NVIDIA driver's library\) is not in this container/,
      );
      assert.doesNotMatch(explained ?? "", /CUDA 13 libraries/, "the image's own libraries are all there");
    });

    it("with a real driver library, every library loads and CUDA fails asking the driver for a device", () => {
      const driver = debianLibcudaDir();
      const { message } = sessionOnCuda(app, `${ldLibraryPath}:${driver}`);
      assert.doesNotMatch(message, /Failed to load shared library/);
      // Debian's 550 driver is older than CUDA 13's r580: the runtime says so when it
      // initialises the device (cudaSetDevice), after every library has loaded.
      assert.match(message, /CUDA failure 35: CUDA driver version is insufficient for CUDA runtime version/);
      assert.match(message, /cudaSetDevice/);
      assert.match(explainCudaFailure(message, () => []) ?? "", /driver r580 or newer/);
    });
  });
}
