// Checkpoints: everything needed to continue a training exactly where it
// stopped — weights, Adam's moments and iteration count, the step, the data
// cursor and the seed — written by rank 0 with the storage layer's
// "objects first, manifest last" helper. A checkpoint without a (valid)
// manifest is incomplete by definition, so a worker that dies mid-write
// never leaves something a later attempt would load.
//
// Layout under the training's output prefix (common/storage/training-layout.ts):
//   checkpoints/step-00001000/{weights.bin, optimizer.bin, state.json, manifest.json}
import * as tf from "@tensorflow/tfjs-core";
import { z } from "zod";
import {
  isNotFound,
  joinUri,
  ManifestError,
  readManifest,
  writeWithManifest,
  type ObjectStore,
} from "../../common/storage/index.js";
import {
  checkpointManifestStep,
  checkpointPrefix,
  checkpointsPrefix,
} from "../../common/storage/training-layout.js";
import { float32Bytes, float32FromBytes, type ParameterMap } from "../../model/parameters.js";
import type { Adam } from "../optimizer/adam.js";

export const CHECKPOINT_FORMAT = "stylekube.io/checkpoint/v1";

const NamedShapeSchema = z.object({ name: z.string(), shape: z.array(z.int().min(0)) });

export const CheckpointStateSchema = z.object({
  format: z.literal(CHECKPOINT_FORMAT),
  step: z.int().min(0),
  attempt: z.int().min(1),
  time: z.iso.datetime({ offset: true }),
  seed: z.int(),
  /** Parameters in weights.bin, in order (float32 little-endian, concatenated). */
  parameters: z.array(NamedShapeSchema),
  /** Adam: its step count, and its moments in optimizer.bin — m then v of each parameter, in `parameters` order. */
  optimizer: z.object({ kind: z.literal("adam"), step: z.int().min(0) }),
  /** The data reader's cursor; the reader validates its own shape. */
  cursor: z.unknown(),
});
export type CheckpointState = z.infer<typeof CheckpointStateSchema>;

export interface SaveCheckpointInput {
  step: number;
  attempt: number;
  seed: number;
  params: ParameterMap;
  optimizer: Adam;
  cursor: unknown;
}

/** Write a checkpoint; returns its prefix URI once the manifest is written. */
export async function saveCheckpoint(
  store: ObjectStore,
  output: string,
  input: SaveCheckpointInput,
): Promise<string> {
  const parameters = await Promise.all(
    [...input.params].map(async ([name, v]) => ({
      name,
      shape: [...v.shape],
      data: (await v.data()) as Float32Array,
    })),
  );
  const adam = await input.optimizer.state();
  // Before the first step Adam has no moments yet: save zeros, which is what it starts from.
  const slots = parameters.flatMap((p) => [
    { data: adam.m.get(p.name) ?? new Float32Array(p.data.length) },
    { data: adam.v.get(p.name) ?? new Float32Array(p.data.length) },
  ]);
  const state: CheckpointState = {
    format: CHECKPOINT_FORMAT,
    step: input.step,
    attempt: input.attempt,
    time: new Date().toISOString(),
    seed: input.seed,
    parameters: parameters.map(({ name, shape }) => ({ name, shape })),
    optimizer: { kind: "adam", step: adam.step },
    cursor: input.cursor,
  };
  const prefix = checkpointPrefix(output, input.step);
  await writeWithManifest(
    store,
    prefix,
    [
      {
        name: "weights.bin",
        body: float32Bytes(parameters.map((p) => p.data)),
        contentType: "application/octet-stream",
      },
      {
        name: "optimizer.bin",
        body: float32Bytes(slots.map((p) => p.data)),
        contentType: "application/octet-stream",
      },
      { name: "state.json", body: JSON.stringify(state), contentType: "application/json" },
    ],
    { kind: "checkpoint", step: input.step },
  );
  return prefix;
}

const ManifestDataSchema = z.object({ kind: z.literal("checkpoint"), step: z.int().min(0) });

export interface CheckpointRef {
  uri: string;
  step: number;
}

/** Complete checkpoints (manifest present), newest first. */
export async function listCheckpoints(store: ObjectStore, output: string): Promise<CheckpointRef[]> {
  const steps = new Map<number, string>();
  for await (const entry of store.list(checkpointsPrefix(output))) {
    const step = checkpointManifestStep(entry.relativeKey);
    if (step !== undefined) steps.set(step, checkpointPrefix(output, step));
  }
  return [...steps].sort((a, b) => b[0] - a[0]).map(([step, uri]) => ({ step, uri }));
}

/**
 * The newest checkpoint whose manifest and every object verify (sizes and
 * sha256); a damaged newer one is skipped in favour of an older good one.
 */
export async function latestCheckpoint(
  store: ObjectStore,
  output: string,
): Promise<CheckpointRef | undefined> {
  for (const ref of await listCheckpoints(store, output)) {
    try {
      await readManifest(store, ref.uri, ManifestDataSchema, { verify: "sha256" });
      return ref;
    } catch (err) {
      if (err instanceof ManifestError || isNotFound(err)) continue;
      throw err;
    }
  }
  return undefined;
}

/** Load a checkpoint into the parameters and the optimizer; returns its state. */
export async function loadCheckpoint(
  store: ObjectStore,
  uri: string,
  params: ParameterMap,
  optimizer: Adam,
): Promise<CheckpointState> {
  await readManifest(store, uri, ManifestDataSchema, { verify: "size" });
  const state = CheckpointStateSchema.parse(
    JSON.parse((await store.getBytes(joinUri(uri, "state.json"))).toString()),
  );
  const weights = float32FromBytes(await store.getBytes(joinUri(uri, "weights.bin")));
  let offset = 0;
  const expected = [...params.keys()];
  const saved = state.parameters.map((p) => p.name);
  if (JSON.stringify(expected) !== JSON.stringify(saved)) {
    throw new Error(
      `checkpoint ${uri} was written for a different network (parameters differ); was the spec's normalization or upsampling changed?`,
    );
  }
  for (const p of state.parameters) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    const v = params.get(p.name)!;
    tf.tidy(() => v.assign(tf.tensor(weights.subarray(offset, offset + size), v.shape, "float32")));
    offset += size;
  }
  if (offset !== weights.length)
    throw new Error(`checkpoint ${uri}: weights.bin has ${weights.length - offset} extra values`);

  const moments = float32FromBytes(await store.getBytes(joinUri(uri, "optimizer.bin")));
  if (moments.length !== 2 * weights.length) {
    throw new Error(
      `checkpoint ${uri}: optimizer.bin has ${moments.length} values, expected ${2 * weights.length}`,
    );
  }
  const m = new Map<string, Float32Array>();
  const v = new Map<string, Float32Array>();
  offset = 0;
  for (const p of state.parameters) {
    const size = p.shape.reduce((a, b) => a * b, 1);
    m.set(p.name, moments.slice(offset, offset + size));
    v.set(p.name, moments.slice(offset + size, offset + 2 * size));
    offset += 2 * size;
  }
  optimizer.load(params, { step: state.optimizer.step, m, v });
  return state;
}

/** Delete all but the newest `keep` complete checkpoints, and any incomplete older than the newest complete. */
export async function pruneCheckpoints(store: ObjectStore, output: string, keep: number): Promise<number> {
  const complete = await listCheckpoints(store, output);
  let deleted = 0;
  for (const ref of complete.slice(keep)) deleted += await store.deletePrefix(ref.uri);
  return deleted;
}
