// The model server chooses its ONNX Runtime provider with the probe it shares
// with the trainer (model/onnx/providers.ts): a provider that fails says why
// in one line, and where the CUDA provider's library is absent ONNX Runtime
// is never asked to load it, so its own red "Failed to load library" error
// is not printed (checked on the stderr of a separate process, since ONNX
// Runtime writes it from native code).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { probeProvider } from "../../../model/onnx/providers.js";
import { chooseProvider } from "../../../serving/onnx-session.js";

const options = { threads: 1, maxPixels: 1 << 20 };

describe("the model server's ONNX Runtime provider", () => {
  it("is the first of the providers asked for that runs the probe convolution", async () => {
    assert.equal(await chooseProvider({ ...options, providers: ["cpu"] }), "cpu");
    const cuda = await probeProvider("cuda");
    assert.equal(
      await chooseProvider({ ...options, providers: ["cuda", "cpu"] }),
      cuda === undefined ? "cuda" : "cpu",
    );
  });

  it("names each provider that failed, in one line each", async (t) => {
    const cuda = await probeProvider("cuda");
    if (cuda === undefined) return t.skip("the CUDA provider runs here");
    assert.doesNotMatch(cuda, /\n/);
    await assert.rejects(chooseProvider({ ...options, providers: ["cuda"] }), (err: unknown) => {
      assert.ok(err instanceof Error);
      assert.equal(err.message, `ONNX Runtime initialised none of the providers cuda: ${cuda}`);
      return true;
    });
  });

  it("does not make ONNX Runtime print its CUDA library error when the library is absent", async (t) => {
    const cuda = await probeProvider("cuda");
    if (cuda === undefined || !/libonnxruntime_providers_cuda\.so is not installed/.test(cuda)) {
      return t.skip(`the CUDA provider's library is installed here (${cuda ?? "it runs"})`);
    }
    const script =
      'import { chooseProvider } from "./serving/onnx-session.ts";\n' +
      'console.log(await chooseProvider({ providers: ["cuda", "cpu"], threads: 1, maxPixels: 1 << 20 }));';
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: join(import.meta.dirname, "..", "..", ".."),
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(child.status, 0, child.stderr);
    assert.equal(child.stdout.trim(), "cpu");
    assert.doesNotMatch(child.stderr, /Failed to load|onnxruntime_providers_(cuda|shared)|\[E:onnxruntime/);
  });
});
