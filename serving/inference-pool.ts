// The HTTP thread's side of the inference worker threads: loads every model
// into every worker, hands each job to an idle worker, and replaces a worker
// that dies (out of memory, a native crash) so one bad input cannot take the
// server down; its models are reloaded into the replacement.
import { Worker } from "node:worker_threads";
import type { Logger } from "../common/log/logger.js";
import type { RgbImage } from "../common/images/codec.js";
import type { ModelDescription } from "../model/model-export.js";
import type { EngineName } from "../model/engine/engines.js";
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
  /** Set once its engine started: only such a thread is replaced when it dies (else a broken engine would respawn forever). */
  engine: WorkerEngine | undefined;
  readonly started: Promise<WorkerEngine>;

  constructor(
    init: WorkerInit,
    private readonly onExit: (thread: InferenceThread, error: Error) => void,
  ) {
    this.worker = FROM_SOURCE
      ? new Worker(TSX_BOOTSTRAP, { eval: true, workerData: init satisfies WorkerInit })
      : new Worker(WORKER_URL, { workerData: init satisfies WorkerInit });
    let settle: Pending<WorkerEngine> | undefined;
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
          this.runs.get(msg.jobId)?.reject(new InferenceError(msg.message));
          this.runs.delete(msg.jobId);
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
      this.onExit(this, error);
    });
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
  engine: EngineName;
  /** Worker threads, i.e. inferences at once. */
  threads: number;
  log: Logger;
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
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  #spawn(): InferenceThread {
    return new InferenceThread({ engine: this.options.engine }, (dead, error) => this.#replace(dead, error));
  }

  #replace(dead: InferenceThread, error: Error): void {
    if (this.#closing || dead.engine === undefined) return;
    this.options.log.error({ err: error.message }, "inference thread died; starting a new one");
    const fresh = this.#spawn();
    this.#threads = this.#threads.map((t) => (t === dead ? fresh : t));
    fresh.busy = true; // not idle until its models are back
    void (async () => {
      try {
        await fresh.started;
        await Promise.all([...this.#models].map(([id, uri]) => fresh.load(id, uri)));
        this.#release(fresh);
      } catch (err) {
        // A replacement whose engine does not start is not replaced again; the pool runs with fewer threads.
        this.options.log.error(
          { err: (err as Error).message },
          "replacement inference thread failed to start",
        );
      }
    })();
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
    const idle = this.#threads.find((t) => !t.busy);
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
    const next = this.#waiting.shift();
    if (next) next(thread);
    else thread.busy = false;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }
}
