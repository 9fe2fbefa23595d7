// ONNX Runtime in an inference worker thread: one InferenceSession per
// model (model.onnx beside the weights, model/onnx/export.ts), created with
// the first execution provider that initialises. ORT runs the graph on its
// own native threads; the worker thread only waits, so the HTTP thread
// stays free either way (the pool's design is kept for all engines).
import * as ort from "onnxruntime-node";
import type { ObjectStore } from "../common/storage/index.js";
import { joinUri } from "../common/storage/index.js";
import { readModelFiles, type ModelDescription } from "../model/model-export.js";
import { type OrtProvider, probeProvider } from "../model/onnx/providers.js";
import type { ArenaBudget } from "./onnx-arena-budget.js";
import { onnxRefusal, runInBands } from "./onnx-bands.js";

export type OnnxProvider = OrtProvider;

export interface OnnxOptions {
  providers: OnnxProvider[];
  /** Intra-op threads; 0: ONNX Runtime's default (all cores). */
  threads: number;
  /** Largest image run at once; larger ones run in overlapping bands of at most this many pixels (onnx-bands.ts). */
  maxPixels: number;
}

export interface OnnxModel {
  description: ModelDescription;
  provider: OnnxProvider;
  /** NHWC float32 [0, 255] of h×w (multiples of 4) → NHWC float32 [0, 255]. */
  run(nhwc: Float32Array, height: number, width: number): Promise<Float32Array>;
  /** Releases the session (its memory arena with it) and creates it again from the model's bytes. */
  recycle(): Promise<void>;
  dispose(): Promise<void>;
}

/** Creates a session on the first provider that initialises; the error names each provider's failure. */
export async function createSession(
  bytes: Uint8Array,
  options: OnnxOptions,
): Promise<{ session: ort.InferenceSession; provider: OnnxProvider }> {
  const failures: string[] = [];
  for (const provider of options.providers) {
    try {
      const session = await ort.InferenceSession.create(bytes, {
        executionProviders: [provider],
        graphOptimizationLevel: "all",
        // Memory pattern off: on the second run of a shape it asks the arena
        // for all the activations as one block, which the first run's freed
        // chunks cannot hold, so the arena grows by it (2048² in bands of
        // one shape: 1769 MiB peak with it, 1111 MiB without, equally fast).
        enableMemPattern: false,
        ...(options.threads > 0 ? { intraOpNumThreads: options.threads } : {}),
      });
      return { session, provider };
    } catch (err) {
      failures.push(`${provider}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  throw new Error(`ONNX Runtime could not create a session: ${failures.join("; ")}`);
}

/**
 * The first of `options.providers` on which ONNX Runtime creates a session
 * and runs a small convolution (the probe shared with the trainer,
 * model/onnx/providers.ts, which checks for the CUDA provider's library
 * before ONNX Runtime would print its own error): the provider the server
 * reports and gives every model's session, so what it reports is what runs.
 * The error names each provider's failure, one line each.
 */
export async function chooseProvider(options: OnnxOptions): Promise<OnnxProvider> {
  const failures: string[] = [];
  for (const provider of options.providers) {
    const failure = await probeProvider(provider);
    if (failure === undefined) return provider;
    failures.push(failure);
  }
  throw new Error(
    `ONNX Runtime initialised none of the providers ${options.providers.join(", ")}: ${failures.join("; ")}`,
  );
}

function nhwcToNchw(x: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    out[i] = x[i * 3]!;
    out[plane + i] = x[i * 3 + 1]!;
    out[2 * plane + i] = x[i * 3 + 2]!;
  }
  return out;
}

function nchwToNhwc(x: Float32Array, h: number, w: number): Float32Array {
  const out = new Float32Array(x.length);
  const plane = h * w;
  for (let i = 0; i < plane; i++) {
    out[i * 3] = x[i]!;
    out[i * 3 + 1] = x[plane + i]!;
    out[i * 3 + 2] = x[2 * plane + i]!;
  }
  return out;
}

/**
 * Loads an exported model's ONNX file (checksums verified with the rest of
 * the model). A model without one, or whose ONNX file ONNX Runtime refuses
 * (corrupt), fails here with a message that says so. With `arenas`, the
 * session is recycled when that budget says so after a run.
 */
export async function loadOnnxModel(
  store: ObjectStore,
  uri: string,
  options: OnnxOptions,
  /** The worker's budget for the memory its sessions keep between requests (onnx-arena-budget.ts). */
  arenas?: ArenaBudget<OnnxModel>,
): Promise<OnnxModel> {
  const { description } = await readModelFiles(store, uri);
  const onnx = description.onnx;
  if (onnx === undefined) {
    throw new Error(
      `model ${uri} has no ONNX file (exported before model.onnx existed); add it with \`stylekube export --onnx ${uri}\` or serve it with a tfjs engine`,
    );
  }
  let created: Awaited<ReturnType<typeof createSession>> & { bytes: Uint8Array };
  try {
    const bytes = await store.getBytes(joinUri(uri, onnx.file));
    created = { ...(await createSession(bytes, options)), bytes };
  } catch (err) {
    throw new Error(
      `model ${uri}: ${onnx.file} is not a valid ONNX model (${err instanceof Error ? err.message : String(err)}); export it again with \`stylekube export --onnx\``,
      { cause: err },
    );
  }
  const bytes = created.bytes;
  // The session now, or the one being created in its place (recycle).
  let session: Promise<ort.InferenceSession> = Promise.resolve(created.session);
  const whole = async (nhwc: Float32Array, height: number, width: number): Promise<Float32Array> => {
    const input = new ort.Tensor("float32", nhwcToNchw(nhwc, height, width), [1, 3, height, width]);
    const result = await (await session).run({ [onnx.input]: input });
    const output = result[onnx.output];
    if (output === undefined) throw new Error(`the ONNX model has no output ${onnx.output}`);
    try {
      return nchwToNhwc(output.data as Float32Array, height, width);
    } finally {
      input.dispose();
      output.dispose();
    }
  };
  const model: OnnxModel = {
    description,
    provider: created.provider,
    run: async (nhwc, height, width) => {
      // The request path answers 413 before an image gets here that this engine cannot take.
      const refusal = onnxRefusal(width, height, options.maxPixels, description.normalization);
      if (refusal !== undefined) throw new Error(refusal);
      const pixels = height * width;
      const y =
        pixels <= options.maxPixels
          ? await whole(nhwc, height, width)
          : await runInBands(nhwc, height, width, options.maxPixels, whole);
      // The arena grew to the largest piece run at once; recycle what the budget says.
      arenas?.afterRun(model, Math.min(pixels, options.maxPixels));
      return y;
    },
    recycle: () => {
      const old = session;
      const fresh = (async () => {
        await (await old).release();
        return (await createSession(bytes, { ...options, providers: [created.provider] })).session;
      })();
      // Until the next run awaits it, a failure is nobody's to handle yet;
      // that run fails with it (run-failed: the worker is replaced).
      fresh.catch(() => undefined);
      session = fresh;
      return fresh.then(() => undefined);
    },
    dispose: async () => {
      arenas?.forget(model);
      await (await session).release();
    },
  };
  return model;
}
