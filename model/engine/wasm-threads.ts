import { createRequire } from "node:module";
import type { cpus } from "node:os";
import { dirname, join } from "node:path";
import { Worker as NodeWorker, type WorkerOptions } from "node:worker_threads";
import * as tf from "@tensorflow/tfjs-core";

/**
 * Multi-threaded wasm under Node 20 (tfjs-backend-wasm 4.22).
 *
 * What stands in the way, found by running it:
 * 1. The backend's WASM_HAS_MULTITHREAD_SUPPORT flag is hard-wired to false
 *    under Node, so the single-threaded SIMD binary loads.
 *    Setting the flag to true loads tfjs-backend-wasm-threaded-simd.wasm.
 * 2. Emscripten then starts its pthread pool (8 workers) with
 *    `new Worker(url)` where url is a `blob:` URL of the worker script and
 *    the main script is sent as a Blob; Node's worker_threads accept neither
 *    (ERR_WORKER_PATH). The global `Worker` the Emscripten glue uses is
 *    replaced here by a worker_threads.Worker that runs the same worker
 *    script (shipped as wasm-out/…worker.js) and loads the main script from
 *    its file in wasm-out/ instead of the Blob.
 * 3. The C++ side sizes XNNPACK's pool as min(requested, logical cores / 2)
 *    (it assumes hyper-threading), so a 2-core machine gets 1 thread
 *    whatever setThreadsCount asked for. The core count it reads (through
 *    os.cpus() on Node) is doubled while the backend initialises.
 *
 * Must run before the wasm backend is first initialised (tf.setBackend or
 * tf.ready with wasm); it changes nothing for an already running backend.
 */

const require = createRequire(import.meta.url);

class BlobAwareWorker extends NodeWorker {
  constructor(path: string | URL, options?: WorkerOptions) {
    // The bootstrap is CommonJS; a parent started with --input-type=module
    // would pass that flag on and make it ESM, so it is dropped here.
    if (String(path).startsWith("blob:")) {
      super(bootstrapSource(), {
        ...options,
        eval: true,
        execArgv: process.execArgv.filter((a) => !a.startsWith("--input-type")),
      });
    } else {
      super(path, options);
    }
    this.unref();
  }

  /**
   * Emscripten ref()s a worker while a pthread runs on it, and XNNPACK's
   * pool threads run for the life of the backend, so the process would never
   * exit by itself. They hold no work of their own between kernels.
   */
  override ref(): void {}
}

function wasmOutDir(): string {
  return join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "wasm-out");
}

/** Runs Emscripten's pthread worker script, with `importScripts(blob:…)` mapped to the main script's file. */
function bootstrapSource(): string {
  const dir = wasmOutDir();
  const workerJs = JSON.stringify(join(dir, "tfjs-backend-wasm-threaded-simd.worker.js"));
  const mainJs = JSON.stringify(join(dir, "tfjs-backend-wasm-threaded-simd.js"));
  return `
const { wasmWorkerContents } = require(${workerJs});
globalThis.require = require;
// tfjs escapes newlines the same way before it turns these contents into a Blob.
(0, eval)(wasmWorkerContents.replace(/\\n/g, "\\\\n"));
const importOriginal = globalThis.importScripts;
globalThis.importScripts = (f) => importOriginal(typeof f === "string" && f.startsWith("blob:") ? ${mainJs} : f);
`;
}

interface ThreadsModule {
  setThreadsCount(n: number): void;
}

let prepared = false;

/**
 * Arranges for the wasm backend to start with `threads` XNNPACK threads on
 * Node worker_threads. Call after importing @tensorflow/tfjs-backend-wasm
 * and before its backend is initialised; call the returned function once
 * it has been (it restores os.cpus).
 */
export function prepareWasmThreads(wasm: ThreadsModule, threads: number): () => void {
  if (prepared) return () => undefined;
  prepared = true;
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  wasm.setThreadsCount(threads);
  // The glue assigns globalThis.Worker = worker_threads.Worker when it starts; keep ours.
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => BlobAwareWorker,
    set: () => undefined,
  });
  // Report 2·threads logical cores while the backend initialises (item 3 above).
  const os = require("node:os") as { cpus: typeof cpus };
  const real = os.cpus;
  const first = real()[0];
  if (first !== undefined && real().length < 2 * threads) {
    os.cpus = () => Array.from({ length: 2 * threads }, () => first);
  }
  return () => {
    os.cpus = real;
  };
}
