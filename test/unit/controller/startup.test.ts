// `stylekube controller` refuses to start without a cluster to talk to,
// saying where it looked, instead of quietly using http://localhost:8080
// (what @kubernetes/client-node falls back to) or printing a stack trace.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";

function startController(env: Record<string, string>): { status: number | null; output: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", "cli/main.ts", "controller"], {
    env: { PATH: process.env.PATH ?? "", HOME: mkdtempSync(join(tmpdir(), "stylekube-home-")), ...env },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: r.status, output: r.stdout + r.stderr };
}

describe("controller start-up", () => {
  it("without any kubeconfig: exits 1 and says where it looked", () => {
    const r = startController({});
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /cannot load a kubeconfig: set KUBECONFIG/);
    assert.match(r.output, /\.kube\/config/);
    assert.doesNotMatch(r.output, /^\s+at /m, "no stack trace");
  });

  it("with KUBECONFIG naming a missing file: exits 1 naming it", () => {
    const r = startController({ KUBECONFIG: "/nonexistent/kubeconfig" });
    assert.equal(r.status, 1, r.output);
    assert.match(r.output, /\/nonexistent\/kubeconfig/);
    assert.doesNotMatch(r.output, /^\s+at /m, "no stack trace");
  });
});
