// The HTTP thread's side of the inference worker threads: loads every model
// into every worker, hands each job to an idle worker, and replaces a worker
// that dies (out of memory, a native crash) or whose engine fails a run (a
// wasm heap that aborted stays broken for every later run), so one bad input
// fails only its own request; its models are reloaded into the replacement.
// `healthy` counts the threads that can take a job now: readiness is false
// while it is 0.
import { Worker } from "node:worker_threads";
import type { Logger } from "../common/log/logger.js";
import type { RgbImage } from "../common/images/codec.js";
import type { ModelDescription } from "../model/model-export.js";
import type { FromWorker, ToWorker, WorkerEngine, WorkerInit } from "./inference-protocol.js";

/** What the style registry and the request path need from an inference backend. */
export interface ModelHost {
  load(uri: string): Promise<{ modelId: number; description: ModelDescription }>;
  unload(modelId: number): void;
  run(
    modelId: number,
    image: RgbImage,
    signal?: AbortSignal,
  ): Promise<{ image: RgbImage; inferenceMs: number }>;
}

export class InferenceError extends Error {
  override readonly name = "InferenceError";
}

interface Pending<T> {
  resolve(v: T): void;
  reject(e: Error): void;
}

type RunResult = { image: RgbImage; inferenceMs: number };

// Built, the worker is a .js file beside this one. Under tsx (tests, `npx
// tsx`) it is .ts, and Node 20 does not apply the main thread's loader hooks
// to workers, so the worker registers tsx itself before importing it.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const WORKER_URL = new URL(`./inference-worker${FROM_SOURCE ? ".ts" : ".js"}`, import.meta.url);
const TSX_BOOTSTRAP = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(WORKER_URL.href)}); });`;

class InferenceThread {
  readonly worker: Worker;
  readonly loads = new Map<number, Pending<ModelDescription>>();
  readonly runs = new Map<number, Pending<RunResult>>();
  busy = false;
  /** Its engine failed a run: it takes no more jobs and is being replaced. */
  retiring = false;
  /** Engine started and every model loaded: it can take jobs. */
  serving = false;
  /** Its replacement has been started (it is not replaced twice). */
  replaced = false;
  /** Set once its engine started: only such a thread is replaced when it dies (else a broken engine would respawn forever). */
  engine: WorkerEngine | undefined;
  readonly started: Promise<WorkerEngine>;
  /** Resolves when the thread answered "close" or exited. */
  readonly closed: Promise<void>;

  constructor(
    init: WorkerInit,
    private readonly onExit: (thread: InferenceThread, error: Error) => void,
  ) {
    this.worker = FROM_SOURCE
      ? new Worker(TSX_BOOTSTRAP, { eval: true, workerData: init satisfies WorkerInit })
      : new Worker(WORKER_URL, { workerData: init satisfies WorkerInit });
    let settle: Pending<WorkerEngine> | undefined;
    let closed: () => void = () => undefined;
    this.closed = new Promise<void>((resolve) => (closed = resolve));
    this.started = new Promise<WorkerEngine>((resolve, reject) => (settle = { resolve, reject }));
    this.worker.on("message", (msg: FromWorker) => {
      switch (msg.type) {
        case "ready":
          this.engine = msg.engine;
          settle?.resolve(msg.engine);
          return;
        case "init-failed":
          settle?.reject(new Error(msg.message));
          void this.worker.terminate();
          return;
        case "loaded":
          this.loads.get(msg.modelId)?.resolve(msg.description);
          this.loads.delete(msg.modelId);
          return;
        case "load-failed":
          this.loads.get(msg.modelId)?.reject(new Error(msg.message));
          this.loads.delete(msg.modelId);
          return;
        case "result":
          this.runs.get(msg.jobId)?.resolve({
            image: { data: msg.rgb, width: msg.width, height: msg.height },
            inferenceMs: msg.inferenceMs,
          });
          this.runs.delete(msg.jobId);
          return;
        case "run-failed":
          // Inputs are checked before they reach the engine, so a failed run
          // is the engine's: retire the thread before anyone else gets it.
          this.retire();
          this.runs.get(msg.jobId)?.reject(new InferenceError(msg.message));
          this.runs.delete(msg.jobId);
          return;
        case "closed":
          closed();
          return;
      }
    });
    let failure: Error | undefined;
    this.worker.on("error", (err) => (failure = err));
    this.worker.on("exit", (code) => {
      const error = failure ?? new Error(`inference thread exited with code ${code}`);
      settle?.reject(error);
      for (const p of [...this.loads.values(), ...this.runs.values()])
        p.reject(new InferenceError(error.message));
      this.loads.clear();
      this.runs.clear();
      closed();
      this.onExit(this, error);
    });
  }

  /** Takes the thread out of service and ends it; the pool's exit handler starts its replacement. */
  retire(): void {
    if (this.retiring) return;
    this.retiring = true;
    this.serving = false;
    void this.worker.terminate();
  }

  send(msg: ToWorker, transfer: ArrayBuffer[] = []): void {
    this.worker.postMessage(msg, transfer);
  }

  load(modelId: number, uri: string): Promise<ModelDescription> {
    return new Promise((resolve, reject) => {
      this.loads.set(modelId, { resolve, reject });
      this.send({ type: "load", modelId, uri });
    });
  }
}

export interface InferencePoolOptions {
  engine: WorkerInit["engine"];
  onnx?: WorkerInit["onnx"];
  /** Worker threads, i.e. inferences at once. */
  threads: number;
  log: Logger;
  /** Called when a thread is replaced after it died or its engine failed (metrics). */
  onRestart?: (reason: string) => void;
  /** First delay before a replacement whose engine did not start is tried again (doubles, at most 30 s). */
  restartRetryMs?: number;
}

export class InferencePool implements ModelHost {
  #threads: InferenceThread[] = [];
  readonly #models = new Map<number, string>();
  readonly #waiting: ((t: InferenceThread) => void)[] = [];
  #nextModel = 1;
  #nextJob = 1;
  #closing = false;
  engine: WorkerEngine | undefined;

  private constructor(private readonly options: InferencePoolOptions) {}

  /** Starts the threads and their engines; fails (with the engine's reason) if no engine starts. */
  static async start(options: InferencePoolOptions): Promise<InferencePool> {
    const pool = new InferencePool(options);
    const threads = Array.from({ length: options.threads }, () => pool.#spawn());
    pool.#threads = threads;
    try {
      const engines = await Promise.all(threads.map((t) => t.started));
      pool.engine = engines[0];
      for (const t of threads) t.serving = true;
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  #spawn(): InferenceThread {
    return new InferenceThread(
      {
        engine: this.options.engine,
        onnx: this.options.onnx ?? { providers: ["cpu"], threads: 0, maxPixels: 1 << 20 },
      },
      (dead, error) => this.#replace(dead, error),
    );
  }

  #replace(dead: InferenceThread, error: Error): void {
    if (this.#closing || dead.engine === undefined || dead.replaced || !this.#threads.includes(dead)) return;
    dead.replaced = true;
    dead.serving = false;
    this.options.log.error(
      { err: error, engineFailed: dead.retiring },
      "inference thread failed; starting a new one",
    );
    this.options.onRestart?.(dead.retiring ? "engine_failed" : "exited");
    this.#startReplacement(dead, 0);
  }

  /** Puts a new thread in `slot`'s place; retried with backoff while its engine or models do not load. */
  #startReplacement(slot: InferenceThread, attempt: number): void {
    if (this.#closing || !this.#threads.includes(slot)) return;
    const fresh = this.#spawn();
    this.#threads = this.#threads.map((t) => (t === slot ? fresh : t));
    fresh.busy = true; // not idle until its models are back
    void (async () => {
      try {
        await fresh.started;
        await Promise.all([...this.#models].map(([id, uri]) => fresh.load(id, uri)));
        fresh.serving = true;
        this.#release(fresh);
      } catch (err) {
        if (!this.#threads.includes(fresh) || fresh.replaced) return; // its exit already replaced it
        // Try again later (an engine that cannot start now may start once
        // memory is free); readiness is false while no thread serves.
        fresh.replaced = true;
        void fresh.worker.terminate();
        const delay = Math.min(30_000, (this.options.restartRetryMs ?? 500) * 2 ** attempt);
        this.options.log.error({ err, retryInMs: delay }, "replacement inference thread failed to start");
        setTimeout(() => this.#startReplacement(fresh, attempt + 1), delay).unref();
      }
    })();
  }

  /** Threads that can take a job now (engine started, models loaded, not retiring). */
  get healthy(): number {
    return this.#threads.filter((t) => t.serving && !t.retiring).length;
  }

  async load(uri: string): Promise<{ modelId: number; description: ModelDescription }> {
    const modelId = this.#nextModel++;
    try {
      const descriptions = await Promise.all(this.#threads.map((t) => t.load(modelId, uri)));
      this.#models.set(modelId, uri);
      return { modelId, description: descriptions[0]! };
    } catch (err) {
      // Some threads may have loaded it; drop those copies.
      for (const t of this.#threads) t.send({ type: "unload", modelId });
      throw err;
    }
  }

  unload(modelId: number): void {
    this.#models.delete(modelId);
    for (const t of this.#threads) t.send({ type: "unload", modelId });
  }

  /** Jobs waiting for a free thread. */
  get queued(): number {
    return this.#waiting.length;
  }

  /** Threads computing now. */
  get running(): number {
    return this.#threads.filter((t) => t.busy).length;
  }

  /** Stylises on the next free thread; an abort while still waiting for one withdraws the job. */
  async run(modelId: number, image: RgbImage, signal?: AbortSignal): Promise<RunResult> {
    const thread = await this.#acquire(signal);
    const jobId = this.#nextJob++;
    try {
      return await new Promise<RunResult>((resolve, reject) => {
        thread.runs.set(jobId, { resolve, reject });
        // A copy: the caller's buffer may be a view into a larger one (sharp's output), which must not be detached.
        const rgb = image.data.slice();
        thread.send({ type: "run", jobId, modelId, rgb, width: image.width, height: image.height }, [
          rgb.buffer as ArrayBuffer,
        ]);
      });
    } finally {
      if (this.#threads.includes(thread)) this.#release(thread);
    }
  }

  #acquire(signal?: AbortSignal): Promise<InferenceThread> {
    signal?.throwIfAborted();
    const idle = this.#threads.find((t) => !t.busy && !t.retiring);
    if (idle) {
      idle.busy = true;
      return Promise.resolve(idle);
    }
    return new Promise((resolve, reject) => {
      const waiter = (t: InferenceThread) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(t);
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal?.reason instanceof Error ? signal.reason : new Error("aborted"));
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(waiter);
    });
  }

  #release(thread: InferenceThread): void {
    if (thread.retiring) return;
    const next = this.#waiting.shift();
    if (next) next(thread);
    else thread.busy = false;
  }

  /**
   * Asks every thread to finish what it is doing and release its models
   * (terminating one while ONNX Runtime works natively aborts the process),
   * then ends it; a thread that has not answered within closeTimeoutMs is
   * ended anyway.
   */
  async close(closeTimeoutMs = 10_000): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#threads.map(async (t) => {
        if (t.worker.threadId !== -1 && !t.retiring) {
          t.send({ type: "close" });
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            t.closed,
            new Promise<void>((resolve) => (timer = setTimeout(resolve, closeTimeoutMs))),
          ]);
          clearTimeout(timer);
        }
        await t.worker.terminate();
      }),
    );
  }
}
