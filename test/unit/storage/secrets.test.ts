// "Secrets never reach logs": run failing S3 calls with explicit credentials
// in a child process (so the real pino logger writes to a real stdout), log
// the errors and the store, and search everything printed for the secret.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { REPO_ROOT } from "../../env/env-file.js";
import { S3Store, StorageError } from "../../../common/storage/index.js";
import { s3ErrorXml, startFakeS3, type FakeS3 } from "./fake-s3.js";

const ACCESS_KEY_ID = "AKIAFAKEKEYID0001234";
const SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYSECRETSECRET";

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "test/unit/storage/fixtures/failing-s3-call.ts", ...args],
      {
        cwd: REPO_ROOT,
        env: {
          ...process.env,
          STYLEKUBE_LOG_LEVEL: "debug",
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
        },
      },
    );
    let output = "";
    child.stdout.on("data", (c: Buffer) => (output += c.toString()));
    child.stderr.on("data", (c: Buffer) => (output += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("secrets never reach logs", () => {
  let server: FakeS3;
  before(async () => {
    // A 403 the way S3 answers a wrong secret, plus a 503 to exercise the retry/warn path.
    server = await startFakeS3((req, n) =>
      n % 3 === 2
        ? { status: 503, body: s3ErrorXml("SlowDown", "Please reduce your request rate.") }
        : {
            status: 403,
            body: s3ErrorXml("SignatureDoesNotMatch", "The request signature we calculated does not match"),
          },
    );
  });
  after(() => server.close());

  it("a failing S3 call logged every which way prints neither the secret nor the key id", async () => {
    const { code, output } = await run([server.endpoint, ACCESS_KEY_ID, SECRET]);
    assert.equal(code, 0, output);
    // The logging did happen (so the absence below means something) …
    assert.match(output, /DONE/);
    assert.match(output, /SignatureDoesNotMatch/);
    assert.match(output, /s3 call failed/);
    assert.match(output, /"endpoint":"http:\/\/127\.0\.0\.1:\d+"/);
    assert.match(output, /"config":\{"secretAccessKey":"\[redacted\]"\}/);
    // A logged store serialises to its safe description (pino copies objects to redact them).
    assert.match(output, /"store":\{"backend":"s3","endpoint":"http:\/\/127\.0\.0\.1:\d+"/);
    assert.ok(server.requests.length >= 3, "the calls reached the server");
    // … and the credentials sent on the wire never came back out.
    assert.ok(
      server.requests.some((r) => String(r.headers.authorization).includes(ACCESS_KEY_ID)),
      "the fake server should have seen the key id in the Authorization header",
    );
    assert.ok(!output.includes(SECRET), `secret found in output:\n${output}`);
    assert.ok(!output.includes(ACCESS_KEY_ID), `access key id found in output:\n${output}`);
    assert.ok(!output.includes("Signature="), "a request signature reached the output");
  });

  it("StorageError and the store serialise without credentials, in-process too", async () => {
    const store = new S3Store({
      endpoint: server.endpoint,
      accessKeyId: ACCESS_KEY_ID,
      secretAccessKey: SECRET,
    });
    const err = await store.stat("s3://bucket-a/k").then(
      () => assert.fail("stat should fail"),
      (e: unknown) => e,
    );
    assert.ok(err instanceof StorageError);
    for (const text of [
      inspect(err, { depth: 10, showHidden: true }),
      JSON.stringify(err),
      String(err),
      inspect(store, { depth: 10 }),
      JSON.stringify(store),
      JSON.stringify(store.describe()),
    ]) {
      assert.ok(!text.includes(SECRET), text);
      assert.ok(!text.includes(ACCESS_KEY_ID), text);
    }
    assert.equal(store.describe().credentialSource, "explicit");
    await store.close();
  });

  it("strips user:password from an endpoint before logging it", async () => {
    const { safeEndpoint } = await import("../../../common/storage/index.js");
    assert.equal(safeEndpoint("http://user:pa55@minio.local:9000"), "http://minio.local:9000");
    assert.equal(safeEndpoint(undefined), "aws-default");
  });
});
