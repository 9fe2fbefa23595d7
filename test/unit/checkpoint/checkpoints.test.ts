import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, it } from "node:test";
import * as tf from "@tensorflow/tfjs-core";
import { FileStore, joinUri } from "../../../common/storage/index.js";
import {
  latestCheckpoint,
  listCheckpoints,
  loadCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
} from "../../../trainer/checkpoint/checkpoints.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import type { ParameterMap } from "../../../model/parameters.js";
import { Adam } from "../../../trainer/optimizer/adam.js";

function makeParams(seed: number): ParameterMap {
  return new Map([
    ["w", tf.variable(tf.randomNormal([3, 4], 0, 1, "float32", seed), true, `w-${seed}-${Math.random()}`)],
    ["b", tf.variable(tf.zeros([4]), true, `b-${seed}-${Math.random()}`)],
  ]);
}

const x = () =>
  tf.tensor2d([
    [1, 2, 3],
    [0.5, -1, 2],
  ]);

function step(params: ParameterMap, opt: Adam): number {
  const vars = [...params.values()];
  const { value, grads } = tf.variableGrads(
    () => tf.sum(tf.square(tf.add(tf.matMul(x(), params.get("w")!), params.get("b")!))) as tf.Scalar,
    vars,
  );
  const byName = new Map([...params].map(([name, v]) => [name, grads[v.name]!]));
  opt.apply(params, byName);
  const loss = value.dataSync()[0]!;
  value.dispose();
  return loss;
}

describe("checkpoints", () => {
  let dir: string;
  let output: string;
  const store = new FileStore({ durable: false });

  before(async () => {
    await initEngine("cpu");
    dir = mkdtempSync(join(tmpdir(), "stylekube-ckpt-"));
    output = `${pathToFileURL(dir).href}/run/`;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("resuming from a checkpoint restores weights and Adam's state exactly", async () => {
    const a = makeParams(1);
    const optA = new Adam(0.01);
    step(a, optA);
    step(a, optA);
    const uri = await saveCheckpoint(store, output, {
      step: 2,
      attempt: 1,
      seed: 7,
      params: a,
      optimizer: optA,
      cursor: { epoch: 0, position: 8 },
    });

    const b = makeParams(99); // different initial values: everything must come from the checkpoint
    const optB = new Adam(0.01);
    const state = await loadCheckpoint(store, uri, b, optB);
    assert.equal(state.step, 2);
    assert.deepEqual(state.cursor, { epoch: 0, position: 8 });

    assert.equal(state.optimizer.step, 2);
    const lossA = step(a, optA);
    const lossB = step(b, optB);
    assert.equal(lossB, lossA);
    assert.deepEqual(b.get("w")!.dataSync(), a.get("w")!.dataSync());
  });

  it("ignores a checkpoint whose manifest was never written, and a corrupted one", async () => {
    const p = makeParams(2);
    const opt = new Adam(0.01);
    step(p, opt);
    await saveCheckpoint(store, output, {
      step: 10,
      attempt: 1,
      seed: 0,
      params: p,
      optimizer: opt,
      cursor: null,
    });
    // A worker that died mid-write: objects without a manifest.
    await store.put(joinUri(output, "checkpoints/step-00000020/weights.bin"), Buffer.alloc(16));
    // A checkpoint damaged after it was written.
    const bad = await saveCheckpoint(store, output, {
      step: 30,
      attempt: 1,
      seed: 0,
      params: p,
      optimizer: opt,
      cursor: null,
    });
    writeFileSync(new URL(joinUri(bad, "weights.bin")), Buffer.alloc(48 + 16, 1));
    const latest = await latestCheckpoint(store, output);
    assert.equal(latest?.step, 10);
  });

  it("keeps only the newest K complete checkpoints", async () => {
    const p = makeParams(3);
    const opt = new Adam(0.01);
    for (const s of [100, 200, 300, 400]) {
      await saveCheckpoint(store, output, {
        step: s,
        attempt: 1,
        seed: 0,
        params: p,
        optimizer: opt,
        cursor: null,
      });
    }
    await pruneCheckpoints(store, output, 2);
    assert.deepEqual(
      (await listCheckpoints(store, output)).map((c) => c.step),
      [400, 300],
    );
  });

  it("refuses a checkpoint of a different network", async () => {
    const p = makeParams(4);
    const opt = new Adam(0.01);
    const uri = await saveCheckpoint(store, output, {
      step: 500,
      attempt: 1,
      seed: 0,
      params: p,
      optimizer: opt,
      cursor: null,
    });
    const other: ParameterMap = new Map([["other", tf.variable(tf.zeros([2]))]]);
    await assert.rejects(loadCheckpoint(store, uri, other, new Adam(0.01)), /different network/);
  });
});
