// `stylekube doctor`: the choice of the fastest engine from the checks, the
// Vulkan advice, the table, and the real command in a child process on this
// machine, whose answers are checked against what the machine has.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { formatDoctorTable, wrapText } from "../../../cli/doctor-table.js";
import { findVulkanSetup, vulkanAdvice } from "../../../model/engine/vulkan.js";
import { NVIDIA_DRIVER_FILE } from "../../../model/onnx/providers.js";
import {
  type DoctorReport,
  DoctorReportSchema,
  type EngineCheck,
  type EngineChoice,
  engineLabel,
  fastestEngine,
} from "../../../trainer/engine/doctor.js";
import { AUTO_ORDER } from "../../../trainer/engine/engines.js";
import { type CliRun, runStylekube } from "../../support/stylekube-cli.js";

/** Checks where only the engines named in `working` work (`software`: a CPU-emulated adapter). */
function fakeChecks(working: Record<string, "ok" | "software">, asked: string[] = []) {
  return (choice: EngineChoice): Promise<EngineCheck> => {
    const label = engineLabel(choice);
    asked.push(label);
    const state = working[label];
    return Promise.resolve(
      state === undefined
        ? { ...choice, status: "unavailable", detail: `${label} is missing here` }
        : {
            ...choice,
            status: "ok",
            detail: "works",
            ...(state === "software" ? { softwareAdapter: true } : {}),
          },
    );
  };
}

describe("fastestEngine", () => {
  it("takes the first of auto's order that works, and checks no further", async () => {
    const asked: string[] = [];
    const check = fakeChecks({ "onnxruntime cuda": "ok", wasm: "ok", cpu: "ok" }, asked);
    assert.deepEqual(await fastestEngine({ check }), { engine: "onnxruntime", provider: "cuda" });
    assert.deepEqual(asked, ["onnxruntime cuda"]);
  });

  it("passes over a software WebGPU adapter, as engine auto does, to onnxruntime on the CPU", async () => {
    const asked: string[] = [];
    const check = fakeChecks({ webgpu: "software", "onnxruntime cpu": "ok", wasm: "ok", cpu: "ok" }, asked);
    assert.deepEqual(await fastestEngine({ check }), { engine: "onnxruntime", provider: "cpu" });
    assert.deepEqual(asked, ["onnxruntime cuda", "webgpu", "tensorflow", "onnxruntime cpu"]);
  });

  it("leaves out the engines the caller cannot use", async () => {
    const check = fakeChecks({ "onnxruntime cpu": "ok", wasm: "ok", cpu: "ok" });
    assert.deepEqual(await fastestEngine({ check, except: ["onnxruntime"] }), { engine: "wasm" });
  });

  it("fails with every engine's reason when none works", async () => {
    await assert.rejects(fastestEngine({ check: fakeChecks({}) }), (err: Error) => {
      for (const c of AUTO_ORDER) assert.ok(err.message.includes(`${engineLabel(c)} is missing here`));
      return /^no compute engine works here/.test(err.message);
    });
  });
});

describe("vulkanAdvice", () => {
  const fs = (files: string[]) => ({
    exists: (p: string) => files.includes(p),
    list: (dir: string) => files.filter((f) => dirname(f) === dir).map((f) => f.slice(dir.length + 1)),
  });

  it("names the loader and a driver package when neither is installed", () => {
    const setup = findVulkanSetup({}, fs([]));
    assert.deepEqual(setup, { loader: undefined, drivers: [] });
    const advice = vulkanAdvice(setup);
    assert.match(advice, /libvulkan\.so\.1 is not installed \(apt-get install libvulkan1\)/);
    assert.match(advice, /apt-get install -t bookworm-backports mesa-vulkan-drivers/);
    assert.match(advice, /VK_DRIVER_FILES/);
  });

  it("finds the loader on LD_LIBRARY_PATH and drivers in the loader's folders or named by VK_DRIVER_FILES", () => {
    const files = ["/opt/vk/libvulkan.so.1", "/usr/share/vulkan/icd.d/lvp_icd.x86_64.json", "/x/nvidia.json"];
    const found = findVulkanSetup({ LD_LIBRARY_PATH: "/opt/vk" }, fs(files));
    assert.deepEqual(found, {
      loader: "/opt/vk/libvulkan.so.1",
      drivers: ["/usr/share/vulkan/icd.d/lvp_icd.x86_64.json"],
    });
    assert.deepEqual(findVulkanSetup({ VK_DRIVER_FILES: "/x/nvidia.json:/gone.json" }, fs(files)).drivers, [
      "/x/nvidia.json",
    ]);
    // Both there and Dawn still found nothing: the driver was refused.
    assert.match(
      vulkanAdvice(found),
      /lvp_icd\.x86_64\.json\) but Dawn accepted none: .*Mesa's lavapipe must be ≥ 25/,
    );
  });
});

describe("formatDoctorTable", () => {
  const report: DoctorReport = {
    machine: { platform: "linux", arch: "x64", node: "20" },
    checks: [
      { engine: "onnxruntime", provider: "cpu", status: "ok", detail: "runs" },
      {
        engine: "onnxruntime",
        provider: "cuda",
        status: "unavailable",
        detail:
          "no NVIDIA driver is loaded on this machine: install the driver and then the CUDA provider library",
      },
      { engine: "wasm", status: "ok", detail: "loads" },
    ],
    fastest: { engine: "onnxruntime", provider: "cpu" },
  };

  it("aligns the columns, wraps a long reason under its row and names the fastest engine", () => {
    const lines = formatDoctorTable(report, 70).trimEnd().split("\n");
    assert.equal(lines[0], "ENGINE            STATUS       DETAIL");
    assert.equal(lines[1], "onnxruntime cpu   ok           runs");
    assert.equal(lines[2], "onnxruntime cuda  unavailable  no NVIDIA driver is loaded on this");
    assert.equal(lines[3], "                               machine: install the driver and then");
    assert.equal(lines[4], "                               the CUDA provider library");
    assert.equal(lines[5], "wasm              ok           loads");
    assert.match(
      lines.at(-1) ?? "",
      /^Fastest that works here: onnxruntime cpu — what a training's engine auto picks/,
    );
  });

  it("wrapText keeps a word longer than the width whole", () => {
    assert.deepEqual(wrapText("a /a/very/long/path b", 6), ["a", "/a/very/long/path", "b"]);
    assert.deepEqual(wrapText("", 10), [""]);
  });
});

function runDoctor(args: string[]): Promise<CliRun> {
  return runStylekube(["doctor", ...args], { ...process.env, STYLEKUBE_LOG_LEVEL: "warn" });
}

describe("stylekube doctor (CLI, this machine)", () => {
  it("--json: every engine and provider, the CPU provider working, CUDA as this machine has it", async () => {
    const r = await runDoctor(["--json"]);
    assert.equal(r.code, 0, r.stderr);
    const report = DoctorReportSchema.parse(JSON.parse(r.stdout));
    assert.deepEqual(report.checks.map(engineLabel), [
      "onnxruntime cpu",
      "onnxruntime webgpu",
      "onnxruntime cuda",
      "webgpu",
      "tensorflow",
      "wasm",
      "cpu",
    ]);
    const byLabel = new Map(report.checks.map((c) => [engineLabel(c), c]));
    assert.equal(byLabel.get("onnxruntime cpu")?.status, "ok");
    assert.equal(byLabel.get("cpu")?.status, "ok");
    const cuda = byLabel.get("onnxruntime cuda");
    const binding = dirname(createRequire(import.meta.url).resolve("onnxruntime-node"));
    const library = join(
      binding,
      "..",
      "bin",
      "napi-v6",
      process.platform,
      process.arch,
      "libonnxruntime_providers_cuda.so",
    );
    if (!existsSync(NVIDIA_DRIVER_FILE)) {
      // A machine without an NVIDIA GPU (this one): unavailable, saying what is missing and how to get it.
      assert.equal(cuda?.status, "unavailable");
      assert.match(
        cuda?.detail ?? "",
        /^no NVIDIA driver is loaded on this machine .*CUDA needs an NVIDIA GPU and its driver/,
      );
    }
    if (!existsSync(library)) {
      assert.equal(cuda?.status, "unavailable");
      assert.match(cuda?.detail ?? "", /libonnxruntime_providers_cuda\.so is not installed/);
      assert.match(
        cuda?.detail ?? "",
        /node node_modules\/onnxruntime-node\/script\/install --onnxruntime-node-install=cuda12/,
      );
      assert.match(cuda?.detail ?? "", /PyPI wheel onnxruntime-gpu==\d+\.\d+\.\d+/);
    }
    // The fastest is the first of auto's order that the report itself shows working on hardware.
    const expected = AUTO_ORDER.find((c) => {
      const check = byLabel.get(engineLabel(c));
      return check?.status === "ok" && check.softwareAdapter !== true;
    });
    assert.deepEqual(report.fastest, expected && { ...expected });
    for (const check of report.checks.filter((c) => c.status === "unavailable"))
      assert.ok(
        check.detail.length > 40,
        `${engineLabel(check)}: a reason a user can act on, got "${check.detail}"`,
      );
  });

  it("prints the same as a table", async () => {
    const r = await runDoctor([]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    assert.match(lines[0] ?? "", /^ENGINE +STATUS +DETAIL$/);
    assert.match(r.stdout, /^onnxruntime cpu +ok +/m);
    assert.match(r.stdout, /^onnxruntime cuda +(ok|unavailable) +/m);
    assert.match(r.stdout, /^Fastest that works here: \S+/m);
  });
});
