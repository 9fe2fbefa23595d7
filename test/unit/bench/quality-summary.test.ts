import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type CountSummary,
  matchesIterations,
  matchesIterationsOnTotal,
  networkMean,
  type PhotoScores,
  ratio,
  summarize,
} from "../../../bench/quality/summary.js";

const loss = (total: number, content: number, style: number, tv = 1) => ({ total, content, style, tv });

function photo(
  name: string,
  network: ReturnType<typeof loss>,
  gatys: [number, ReturnType<typeof loss>][],
): PhotoScores {
  return {
    photo: name,
    network,
    networkSeconds: 0.1,
    gatys: gatys.map(([iterations, l]) => ({ iterations, loss: l, seconds: iterations / 10 })),
  };
}

/** A summary with the given mean ratios (the only fields the verdict reads). */
const at = (iterations: number, total: number, content: number): CountSummary => ({
  iterations,
  ratio: { total, content, style: 1 },
  gatys: loss(1, 1, 1),
  seconds: 1,
});

describe("quality bench: ratios network / Gatys-N", () => {
  it("divides the network's term by Gatys's", () => {
    assert.equal(ratio(3, 2), 1.5);
    assert.equal(ratio(1, 4), 0.25);
  });

  it("is 1 when both are 0 and Infinity when only Gatys's is", () => {
    assert.equal(ratio(0, 0), 1);
    assert.equal(ratio(2, 0), Infinity);
  });

  it("averages the per-photo ratios (each photo counts alike), not the ratio of the means", () => {
    const photos = [
      photo("a", loss(100, 10, 90), [[50, loss(50, 20, 30)]]),
      photo("b", loss(1, 1, 1), [[50, loss(4, 1, 4)]]),
    ];
    const [s] = summarize(photos, [50]);
    assert.equal(s!.ratio.total, (100 / 50 + 1 / 4) / 2);
    assert.equal(s!.ratio.content, (10 / 20 + 1 / 1) / 2);
    assert.equal(s!.ratio.style, (90 / 30 + 1 / 4) / 2);
    assert.notEqual(s!.ratio.total, 101 / 54, "not the ratio of the means");
    assert.deepEqual(s!.gatys, loss(27, 10.5, 17));
    assert.equal(s!.seconds, 5);
  });

  it("summarises every count, in the order asked", () => {
    const photos = [
      photo("a", loss(10, 5, 5), [
        [50, loss(20, 4, 16)],
        [100, loss(10, 5, 5)],
      ]),
    ];
    const summaries = summarize(photos, [50, 100]);
    assert.deepEqual(
      summaries.map((s) => [s.iterations, s.ratio.total]),
      [
        [50, 0.5],
        [100, 1],
      ],
    );
    assert.deepEqual(networkMean(photos), loss(10, 5, 5));
  });

  it("refuses a photo without a loss at a count, naming both", () => {
    const photos = [photo("kodak-kodim01.jpg", loss(1, 1, 1), [[50, loss(1, 1, 1)]])];
    assert.throws(
      () => summarize(photos, [50, 100]),
      /kodak-kodim01\.jpg has no Gatys loss at 100 iterations/,
    );
    assert.throws(() => summarize([], [50]), /no photos/);
  });
});

describe("quality bench: matchesIterations", () => {
  it("is the largest N where both the total and the content term are at or below Gatys-N's", () => {
    assert.equal(matchesIterations([at(50, 0.5, 0.9), at(100, 1, 1), at(200, 1.2, 0.8)]), 100);
  });

  it("does not count a lower total bought with a higher content term (painting over the photo)", () => {
    const summaries = [at(50, 0.4, 2.5), at(100, 0.8, 1.4), at(200, 1.3, 0.9)];
    assert.equal(matchesIterations(summaries), null);
    assert.equal(matchesIterationsOnTotal(summaries), 100, "the total alone would say 100");
  });

  it("takes the largest matching N even when a smaller one does not match", () => {
    assert.equal(matchesIterations([at(50, 0.9, 1.1), at(100, 0.95, 0.99), at(200, 1.1, 0.5)]), 100);
  });

  it("is null when the network is worse than Gatys at every count", () => {
    assert.equal(matchesIterations([at(50, 2, 0.5), at(100, 3, 0.4)]), null);
    assert.equal(matchesIterationsOnTotal([at(50, 2, 0.5)]), null);
  });
});
