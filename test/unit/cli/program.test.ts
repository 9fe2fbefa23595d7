// The command line as users meet it: every command has --help, --version
// works, unknown flags and bad values are usage errors (exit 2) naming the
// flag, and `serve --help` prints help instead of starting a server.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { resolve } from "node:path";
import { describe, it } from "node:test";
import type { Command } from "commander";
import { buildProgram } from "../../../cli/program.js";
import { packageVersion } from "../../../common/package-version.js";
import { REPO_ROOT } from "../../env/env-file.js";

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", resolve(REPO_ROOT, "cli/main.ts"), ...args], {
    cwd: REPO_ROOT,
    encoding: "utf8",
    timeout: 60_000,
    env: { ...process.env, KUBECONFIG: "/nonexistent" },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function allCommands(cmd: Command, path: string[] = []): { path: string[]; cmd: Command }[] {
  return cmd.commands.flatMap((c) => [
    { path: [...path, c.name()], cmd: c },
    ...allCommands(c, [...path, c.name()]),
  ]);
}

describe("stylekube CLI", () => {
  it("every command has a description and help that names it", () => {
    const commands = allCommands(buildProgram());
    const names = commands.map((c) => c.path.join(" "));
    for (const expected of ["crds", "validate", "dataset pack", "dataset verify", "train", "serve", "worker"])
      assert.ok(names.includes(expected), `no "${expected}" command in ${names.join(", ")}`);
    for (const { path, cmd } of commands) {
      assert.notEqual(cmd.description(), "", `${path.join(" ")} has no description`);
      assert.match(cmd.helpInformation(), new RegExp(`Usage: stylekube ${path.join(" ")}`));
    }
  });

  it("--version and the version command print package.json's version", () => {
    for (const args of [["--version"], ["version"]]) {
      const r = run(...args);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), packageVersion());
    }
  });

  it("serve --help prints help and exits instead of starting a server", () => {
    const r = run("serve", "--help");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Usage: stylekube serve/);
  });

  it("an unknown flag is a usage error naming the flag", () => {
    const r = run("train", "-f", "x.yaml", "--local", "--wrokers", "2");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /unknown option '--wrokers'/);
  });

  it("a bad value is a usage error naming the flag and what it accepts", () => {
    const r = run("train", "-f", "x.yaml", "--local", "--workers", "100");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--workers <n>.*must be from 1 to 64, got 100/);
  });

  it("an unknown command and a missing argument are usage errors", () => {
    assert.equal(run("trian").status, 2);
    const r = run("dataset", "info");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /missing required argument 'uri'/);
  });
});

describe("stylekube CLI help", () => {
  it("dataset pack's help states the packer's own defaults", async () => {
    const { DEFAULT_IMAGE_SIZE, DEFAULT_JPEG_QUALITY, DEFAULT_SHARD_SIZE } =
      await import("../../../trainer/data/pack.js");
    const pack = buildProgram()
      .commands.find((c) => c.name() === "dataset")
      ?.commands.find((c) => c.name() === "pack");
    assert.ok(pack);
    const help = pack.helpInformation();
    assert.match(
      help,
      new RegExp(`--size <n> +side of the square images \\(default ${DEFAULT_IMAGE_SIZE}\\)`),
    );
    assert.match(help, new RegExp(`\\(default ${DEFAULT_SHARD_SIZE}\\)`));
    assert.match(help, new RegExp(`JPEG quality 1-100 \\(default ${DEFAULT_JPEG_QUALITY}\\)`));
  });
});
