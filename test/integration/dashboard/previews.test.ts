// Previews worth watching: a real worker (in-process, real NATS and MinIO,
// random VGG-16, a few steps) stylises the held-out photos beside its
// dataset at every checkpoint; the operator, running as its own process on
// the real apiserver, hears of them over NATS; in headless Chromium the
// checkpoint slider shows each photo and its stylised version, and moving it
// changes what is displayed — compared by the pixels the browser decoded,
// not by URL.
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { chromium, type Browser, type Locator, type Page } from "playwright-core";
import sharp from "sharp";
import {
  GROUP,
  validateStyleTraining,
  VERSION,
  type StyleTrainingInput,
  type StyleTrainingStatus,
} from "../../../common/api/index.js";
import type { ObjectStore } from "../../../common/storage/index.js";
import { previewsPrefix } from "../../../common/storage/training-layout.js";
import { packDataset } from "../../../trainer/data/pack.js";
import { openDatasetBatches } from "../../../trainer/data/reader.js";
import { initEngine } from "../../../trainer/engine/engines.js";
import { runWorker } from "../../../trainer/worker.js";
import { readTestEnv, REPO_ROOT } from "../../env/env-file.js";
import { chromiumPath } from "../../env/prerequisites.js";
import { waitFor } from "../../support/kubernetes.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";
import { openTestStore } from "../../support/test-store.js";

const ARTIFACTS = resolve(REPO_ROOT, ".stylekube/artifacts");
const NAME = "previews";
const CHECKPOINT_EVERY = 2;
const ITERATIONS = 6;
const PREVIEW_SIZE = 96;

// The browser types the page callbacks touch (the Node tsconfig has no DOM lib).
interface Img {
  complete: boolean;
  naturalWidth: number;
  naturalHeight: number;
  getAttribute(name: string): string | null;
}
interface Canvas {
  width: number;
  height: number;
  getContext(kind: "2d"): { drawImage(img: Img, x: number, y: number): void } & {
    getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  };
}
interface Doc {
  createElement(tag: "canvas"): Canvas;
}

/** A scene with a horizon, a sun and a hill, in its own colours: a stand-in for a held-out photo. */
async function scene(width: number, height: number, sky: string, ground: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">
    <rect width="100%" height="100%" fill="${sky}"/>
    <rect y="${height * 0.6}" width="100%" height="${height * 0.4}" fill="${ground}"/>
    <circle cx="${width * 0.72}" cy="${height * 0.28}" r="${height * 0.12}" fill="#f2c14e"/>
    <path d="M0 ${height * 0.6} L${width * 0.3} ${height * 0.25} L${width * 0.55} ${height * 0.6}Z" fill="#5b4b8a"/>
  </svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

/** RGBA of a displayed image as the browser decoded it (drawn onto a canvas), once it has loaded. */
async function displayedPixels(img: Locator): Promise<{ src: string; width: number; data: number[] }> {
  await img.evaluate(
    (el) =>
      new Promise<void>((done, fail) => {
        const i = el as unknown as Img & { decode(): Promise<void> };
        i.decode().then(done, fail);
      }),
  );
  return img.evaluate((el) => {
    const i = el as unknown as Img;
    const canvas = (globalThis as unknown as { document: Doc }).document.createElement("canvas");
    canvas.width = i.naturalWidth;
    canvas.height = i.naturalHeight;
    const ctx = canvas.getContext("2d");
    ctx.drawImage(i, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    return { src: i.getAttribute("src") ?? "", width: i.naturalWidth, data: Array.from(data) };
  });
}

/** Mean absolute difference per RGB channel (0…255) of two same-sized RGBA buffers. */
function meanDifference(a: number[], b: number[]): number {
  assert.equal(a.length, b.length, "same size");
  let sum = 0;
  let n = 0;
  for (let i = 0; i < a.length; i += 4) {
    for (let c = 0; c < 3; c++) sum += Math.abs(a[i + c]! - b[i + c]!);
    n += 3;
  }
  return sum / n;
}

describe("dashboard previews from a real training", () => {
  let op: OperatorUnderTest;
  let store: ObjectStore;
  let browser: Browser;
  let base: string;

  before(async () => {
    const env = readTestEnv();
    store = openTestStore();
    op = await setUpOperator("previews", (namespace) => ({
      STYLEKUBE_NATS_URL: env.natsUrl,
      STYLEKUBE_WATCH_NAMESPACE: namespace,
      STYLEKUBE_LEADER_ELECT: "false",
      STYLEKUBE_STATUS_INTERVAL_MS: "200",
      STYLEKUBE_S3_ENDPOINT: env.s3.endpoint,
      STYLEKUBE_S3_REGION: env.s3.region,
      STYLEKUBE_S3_FORCE_PATH_STYLE: "true",
      STYLEKUBE_S3_ACCESS_KEY_ID: env.s3.accessKeyId,
      STYLEKUBE_S3_SECRET_ACCESS_KEY: env.s3.secretAccessKey,
    }));
    base = `s3://${env.s3.bucket}/dashboard-${op.namespace}/`;

    // A tiny packed dataset, and beside it (never packed) two held-out photos.
    const photos = join(mkdtempSync(join(tmpdir(), "stylekube-previews-")), "photos");
    mkdirSync(photos);
    for (let i = 0; i < 4; i++) {
      await sharp({
        create: { width: 40, height: 32, channels: 3, background: { r: 60 * i, g: 140, b: 90 } },
      })
        .jpeg()
        .toFile(join(photos, `train-${i}.jpg`));
    }
    await packDataset(store, photos, `${base}dataset/`, { size: 16, shardSize: 2 });
    await store.put(`${base}dataset/held-out/harbour.png`, await scene(160, 120, "#7fb3d5", "#2e6b8a"));
    await store.put(`${base}dataset/held-out/meadow.png`, await scene(120, 160, "#f5b7b1", "#58a55c"));
    await store.put(
      `${base}style.png`,
      await sharp({ create: { width: 32, height: 32, channels: 3, background: "#d35400" } })
        .png()
        .toBuffer(),
    );
    await initEngine("cpu");
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await op?.cleanup();
    if (base) await store?.deletePrefix(base).catch(() => undefined);
    await store?.close();
  });

  it("shows each held-out photo stylised by every checkpoint, and consecutive checkpoints differ", async () => {
    const training: StyleTrainingInput = {
      apiVersion: "stylekube.io/v1alpha1",
      kind: "StyleTraining",
      metadata: { name: NAME, namespace: op.namespace },
      spec: {
        style: `${base}style.png`,
        dataset: `${base}dataset/`,
        output: `${base}out/`,
        workers: 1,
        engine: "cpu",
        resources: { gpu: 0, cpu: "1", memory: "1Gi" },
        lossNetwork: { random: true },
        checkpoint: { everySteps: CHECKPOINT_EVERY, keep: 1 },
        // The default photos (held-out/ beside the dataset), small.
        previews: { size: PREVIEW_SIZE },
        hyperparameters: {
          imageSize: 16,
          batchSize: 1,
          iterations: ITERATIONS,
          // Large steps, so a few of them change the network visibly.
          learningRate: 0.05,
          contentLayer: "relu1_2",
          styleLayers: ["relu1_2", "relu2_2"],
        },
      },
    };
    const validated = validateStyleTraining(training);
    assert.ok(validated.ok, validated.ok ? "" : validated.message);
    const custom = op.kc.makeApiClient(k8s.CustomObjectsApi);
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      plural: "styletrainings",
      namespace: op.namespace,
      body: training,
    });
    // The operator starts attempt 1 (its pods run on kwok); the worker below plays rank 0 of it.
    let attempt = 0;
    await waitFor("attempt 1 started", async () => {
      const obj = (await custom.getNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        plural: "styletrainings",
        namespace: op.namespace,
        name: NAME,
      })) as { status?: StyleTrainingStatus };
      attempt = obj.status?.attempt ?? 0;
      return attempt >= 1;
    });
    await runWorker(
      {
        jobId: `${op.namespace}-${NAME}`,
        namespace: op.namespace,
        name: NAME,
        attempt,
        rank: 0,
        worldSize: 1,
        spec: validated.value.spec,
        natsUrl: readTestEnv().natsUrl,
        s3ForcePathStyle: undefined,
      },
      { openBatches: openDatasetBatches, store },
    );
    const written: string[] = [];
    for await (const e of store.list(previewsPrefix(`${base}out/`))) written.push(e.relativeKey);
    assert.deepEqual(written.sort(), [
      "photos/00-harbour.jpg",
      "photos/01-meadow.jpg",
      "step-00000002/00-harbour.jpg",
      "step-00000002/01-meadow.jpg",
      "step-00000004/00-harbour.jpg",
      "step-00000004/01-meadow.jpg",
      "step-00000006/00-harbour.jpg",
      "step-00000006/01-meadow.jpg",
    ]);

    const page: Page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.goto(`${op.controller.url}/#/trainings/${op.namespace}/${NAME}`);
    const slider = page.locator("#preview-slider");
    await waitFor("three checkpoints on the slider", async () => (await slider.getAttribute("max")) === "2");
    const figures = page.locator("#previews figure");
    assert.equal(await figures.count(), 2);
    assert.deepEqual(await page.locator("#previews figcaption").allTextContents(), ["harbour", "meadow"]);

    // The originals, as the network sees them: the harbour's sky is blue (the scene's #7fb3d5).
    const harbour = await displayedPixels(
      page.locator('#previews figure[data-photo="00-harbour"] .preview-original'),
    );
    assert.equal(harbour.width, PREVIEW_SIZE);
    const [r, g, b] = harbour.data.slice(0, 3) as [number, number, number];
    assert.ok(
      Math.abs(r - 0x7f) < 12 && Math.abs(g - 0xb3) < 12 && Math.abs(b - 0xd5) < 12,
      `sky ${r},${g},${b}`,
    );

    // Walk the slider from the first checkpoint to the last with the keyboard.
    await slider.focus();
    await page.keyboard.press("Home");
    const shown: { step: number; photos: Record<string, { src: string; data: number[] }> }[] = [];
    for (const step of [2, 4, 6]) {
      if (step > 2) await page.keyboard.press("ArrowRight");
      await page.locator("#preview-caption", { hasText: `Step ${step}` }).waitFor();
      const photos: Record<string, { src: string; data: number[] }> = {};
      for (const photo of ["00-harbour", "01-meadow"]) {
        const img = page.locator(`#previews figure[data-photo="${photo}"] .preview-stylised`);
        await waitFor(`${photo} at step ${step} displayed`, async () =>
          ((await img.getAttribute("src")) ?? "").endsWith(`/previews/${step}/${photo}`),
        );
        photos[photo] = await displayedPixels(img);
      }
      shown.push({ step, photos });
    }
    const original = harbour.data;
    for (let i = 0; i < shown.length; i++) {
      const here = shown[i]!;
      const stylised = here.photos["00-harbour"]!.data;
      assert.ok(
        meanDifference(stylised, original) > 5,
        `step ${here.step}: the network changed the photo (mean difference ${meanDifference(stylised, original).toFixed(1)})`,
      );
      if (i === 0) continue;
      const before = shown[i - 1]!;
      for (const photo of ["00-harbour", "01-meadow"]) {
        const diff = meanDifference(before.photos[photo]!.data, here.photos[photo]!.data);
        assert.ok(
          diff > 1,
          `${photo}: step ${before.step} and step ${here.step} look the same (mean difference ${diff.toFixed(2)} of 255)`,
        );
      }
    }

    await page.screenshot({ path: join(ARTIFACTS, "dashboard-previews-1280x800.png") });
    assert.deepEqual(cspViolations, [], "the page breaks its own Content Security Policy");
    await page.close();
  });
});
