import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseLossFlags } from "../../../cli/loss-flags.js";
import { lossCurveSvg, parseProgressLog } from "../../../demo/loss-curve.js";

const LOG = [
  '{"level":30,"msg":"attempt started"}',
  "attempt 1 step 1/100 (1.0%) [....] loss 9.050e+6 = content 3.37e+5 + style 8.71e+6 + tv 6.51e+3 0.1 img/s ETA 8h09m",
  "attempt 1 step 2/100 (2.0%) [....] loss 1.687e+7 = content 1.96e+5 + style 1.67e+7 + tv 1.98e+3 0.1 img/s ETA 8h03m",
  "attempt 2 step 2/100 (2.0%) [....] loss 1.5e+7 = content 2e+5 + style 1.4e+7 + tv 968 0.1 img/s ETA 1m",
].join("\n");

describe("loss curve from `train --local` progress lines (demo/loss-curve.ts)", () => {
  it("reads step and λ-weighted terms, a later attempt replacing a step", () => {
    assert.deepEqual(parseProgressLog(LOG), [
      { step: 1, total: 9.05e6, content: 3.37e5, style: 8.71e6, tv: 6.51e3 },
      { step: 2, total: 1.5e7, content: 2e5, style: 1.4e7, tv: 968 },
    ]);
  });

  it("draws one polyline per term on a log axis spanning the values", () => {
    const svg = lossCurveSvg(parseProgressLog(LOG), "Starry <Night>");
    assert.equal(svg.match(/<polyline/g)?.length, 4);
    assert.match(svg, />1e2</);
    assert.match(svg, />1e8</);
    assert.match(svg, /Starry &lt;Night&gt;/);
  });

  it("refuses a log without progress lines", () => {
    assert.throws(() => lossCurveSvg(parseProgressLog("nothing here"), ""), /no progress lines/);
  });
});

describe("loss flags of stylize --optimize and loss (cli/loss-flags.ts)", () => {
  const defaults = {
    layers: { content: "relu2_2", style: ["relu1_2"] },
    weights: { content: 1, style: 2, tv: 3 },
  } as const;
  it("defaults the λs and the style size", () => {
    const parsed = parseLossFlags({ style: "s.jpg" }, defaults);
    assert.deepEqual(parsed.weights, { content: 1, style: 2, tv: 3 });
    assert.equal(parsed.styleSize, 256);
  });
  it("takes λs from flags", () => {
    const parsed = parseLossFlags({ style: "s.jpg", "style-weight": "3e-4", "tv-weight": "0" }, defaults);
    assert.deepEqual(parsed.weights, { content: 1, style: 3e-4, tv: 0 });
  });
  it("names the flag in errors", () => {
    assert.throws(() => parseLossFlags({}, defaults), /--style <painting> is required/);
    assert.throws(
      () => parseLossFlags({ style: "s", "tv-weight": "-1" }, defaults),
      /--tv-weight must be a number ≥ 0/,
    );
    assert.throws(
      () => parseLossFlags({ style: "s", "style-size": "9" }, defaults),
      /--style-size must be a whole number/,
    );
  });
});
