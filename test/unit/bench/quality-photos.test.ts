import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseIterations, parseQualityArgs } from "../../../bench/quality/options.js";
import { fitLongerSide } from "../../../bench/quality/photo-size.js";
import { everyKth, HELD_OUT_SUBSET, heldOutSubsetOf, selectPhotos } from "../../../bench/quality/subset.js";

const pad = (i: number) => String(i).padStart(2, "0");
const kodak = Array.from({ length: 24 }, (_, i) => `kodak-kodim${pad(i + 1)}.jpg`);
const sun = Array.from({ length: 80 }, (_, i) => `sun-scene${pad(i)}.jpg`);

describe("quality bench: the held-out subset", () => {
  it("takes every ⌊n / count⌋-th sorted name from the first", () => {
    assert.deepEqual(everyKth(["e", "a", "d", "c", "b", "f", "g"], 3), ["a", "c", "e"]);
    assert.deepEqual(everyKth(["b", "a"], 12), ["a", "b"], "all of them when fewer");
  });

  it("picks 12 kodak and 12 sun photos by the rule, interleaved", () => {
    const subset = heldOutSubsetOf([...sun].reverse().concat(kodak, ["other.jpg"]));
    assert.equal(subset.length, 24);
    assert.deepEqual(subset.slice(0, 4), [
      "kodak-kodim01.jpg",
      "sun-scene00.jpg",
      "kodak-kodim03.jpg",
      "sun-scene06.jpg",
    ]);
    assert.equal(subset.at(-1), "sun-scene66.jpg");
  });

  it("commits 24 distinct names, 12 of each source, alternating", () => {
    assert.equal(new Set(HELD_OUT_SUBSET).size, 24);
    HELD_OUT_SUBSET.forEach((name, i) => assert.ok(name.startsWith(i % 2 === 0 ? "kodak-" : "sun-"), name));
    assert.deepEqual(heldOutSubsetOf(HELD_OUT_SUBSET), [...HELD_OUT_SUBSET], "the rule keeps a list it made");
  });

  it("uses the committed subset when the folder holds all of it, else every photo sorted", () => {
    const heldOut = [...HELD_OUT_SUBSET, "kodak-kodim02.jpg", "sun-zzz.jpg"];
    const chosen = selectPhotos(heldOut, { all: false });
    assert.deepEqual(chosen.photos, [...HELD_OUT_SUBSET]);
    assert.equal(chosen.subset, true);
    assert.equal(selectPhotos(heldOut, { all: false, limit: 4 }).photos.length, 4);
    const all = selectPhotos(heldOut, { all: true });
    assert.equal(all.photos.length, 26);
    assert.equal(all.subset, false);
    const other = selectPhotos(["b.png", "a.jpg"], { all: false });
    assert.deepEqual(other.photos, ["a.jpg", "b.png"]);
    assert.equal(other.subset, false);
  });

  it("warns when the rule on the folder no longer gives the committed list", () => {
    assert.equal(selectPhotos([...HELD_OUT_SUBSET], { all: false }).warning, undefined);
    const changed = selectPhotos([...HELD_OUT_SUBSET, "kodak-kodim00.jpg"], { all: false });
    assert.match(changed.warning ?? "", /changed since the subset was committed/);
    assert.deepEqual(changed.photos, [...HELD_OUT_SUBSET]);
  });
});

describe("quality bench: photo size", () => {
  it("puts the longer side at the size and rounds the shorter to a multiple of 4", () => {
    assert.deepEqual(fitLongerSide(1024, 768, 256), { width: 256, height: 192 });
    assert.deepEqual(fitLongerSide(768, 1024, 256), { width: 192, height: 256 });
    assert.deepEqual(fitLongerSide(1024, 426, 256), { width: 256, height: 108 });
    assert.deepEqual(fitLongerSide(500, 500, 512), { width: 512, height: 512 });
    assert.deepEqual(fitLongerSide(1024, 683, 512), { width: 512, height: 340 });
  });

  it("refuses a size the network cannot return unchanged", () => {
    assert.throws(() => fitLongerSide(100, 100, 250), /--size must be a multiple of 4/);
    assert.throws(() => fitLongerSide(0, 100, 256), /positive size/);
  });
});

describe("quality bench: options", () => {
  const required = ["--model", "m/", "--style", "s.jpg", "--photos", "p/"];

  it("defaults to the paper's 256 px, 50–500 iterations and onnxruntime", () => {
    const o = parseQualityArgs(required);
    assert.equal(o.size, 256);
    assert.deepEqual(o.iterations, [50, 100, 200, 500]);
    assert.equal(o.engine, "onnxruntime");
    assert.equal(o.limit, undefined);
    assert.ok(o.threads >= 1);
  });

  it("reads --size, --limit, --threads and --baselines", () => {
    const o = parseQualityArgs([
      ...required,
      "--size",
      "512",
      "--limit",
      "4",
      "--threads",
      "3",
      "--baselines",
      "b.json",
    ]);
    assert.deepEqual([o.size, o.limit, o.threads, o.baselines], [512, 4, 3, "b.json"]);
  });

  it("sorts the counts and drops duplicates", () => {
    assert.deepEqual(parseIterations("200, 50,100,50"), [50, 100, 200]);
    assert.throws(() => parseIterations("50,,100"), /--iterations must be whole numbers/);
    assert.throws(() => parseIterations("0"), /--iterations/);
  });

  it("names the flag that is missing or wrong", () => {
    assert.throws(() => parseQualityArgs(["--style", "s", "--photos", "p"]), /--model/);
    assert.throws(() => parseQualityArgs(["--model", "m", "--style", "s"]), /--photos/);
    assert.throws(() => parseQualityArgs([...required, "--engine", "gpu"]), /--engine must be one of/);
    assert.throws(() => parseQualityArgs([...required, "--method", "sgd"]), /--method/);
    assert.throws(
      () => parseQualityArgs([...required, "--limit", "0"]),
      /--limit must be a whole number ≥ 1/,
    );
    assert.throws(() => parseQualityArgs([...required, "--size", "250"]), /--size must be a multiple of 4/);
    assert.throws(() => parseQualityArgs([...required, "--quick", "--size", "128"]), /--quick sets/);
  });
});
