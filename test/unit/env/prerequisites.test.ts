// npm test's up-front check: a machine without Chromium (or openssl, curl)
// gets one message naming what is missing, who needs it and how to install it.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, it } from "node:test";
import { REPO_ROOT } from "../../env/env-file.js";
import { describeMissing, found, missingPrerequisites } from "../../env/prerequisites.js";

/** A PATH holding only executables with these names. */
function pathWith(...programs: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), "stylekube-path-"));
  for (const p of programs) {
    writeFileSync(join(dir, p), "#!/bin/sh\n");
    chmodSync(join(dir, p), 0o755);
  }
  return dir;
}

const dashboardTest = resolve(REPO_ROOT, "test/integration/dashboard/dashboard.test.ts");
const storageTest = resolve(REPO_ROOT, "test/integration/storage/s3.test.ts");
const unitTest = resolve(REPO_ROOT, "test/unit/api/schema.test.ts");

describe("test prerequisites", () => {
  it("finds programs on PATH and by absolute path, and only executables", () => {
    const dir = pathWith("openssl");
    writeFileSync(join(dir, "curl"), "not executable");
    assert.equal(found("openssl", { PATH: dir }), true);
    assert.equal(found("curl", { PATH: dir }), false);
    assert.equal(found(join(dir, "openssl"), { PATH: "" }), true);
  });

  it("asks for Chromium only when a dashboard test is selected", () => {
    const env = { PATH: pathWith("openssl", "curl"), STYLEKUBE_CHROMIUM: "/nonexistent/chromium" };
    assert.deepEqual(missingPrerequisites([storageTest], env), []);
    assert.deepEqual(
      missingPrerequisites([storageTest, dashboardTest], env).map((p) => p.debianPackage),
      ["chromium"],
    );
  });

  it("asks for nothing when only unit tests run", () => {
    assert.deepEqual(missingPrerequisites([unitTest], { PATH: "" }), []);
  });

  it("names every missing program and one install command", () => {
    const env = { PATH: pathWith(), STYLEKUBE_CHROMIUM: "/nonexistent/chromium" };
    const message = describeMissing(missingPrerequisites([dashboardTest], env));
    assert.match(message, /openssl \(openssl\)/);
    assert.match(message, /curl \(curl\)/);
    assert.match(message, /\/nonexistent\/chromium \(chromium\), for the dashboard's browser tests/);
    assert.match(message, /apt-get install -y --no-install-recommends openssl curl chromium$/m);
  });
});
