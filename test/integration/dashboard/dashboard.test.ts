// The dashboard in a real browser (headless Chromium, Debian package, driven
// by playwright-core) against the operator running as its own process with
// its own RBAC on the real apiserver, NATS and MinIO. Progress arrives the way
// workers send it: JSON on core NATS. "Try it" talks to the real model server
// (`stylekube serve` as a process) serving a model exported by the trainer.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { startServerProcess, trainAndExport, type ServerProcess } from "../serving/support.js";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import * as k8s from "@kubernetes/client-node";
import { connect, type NatsConnection } from "nats";
import { chromium, type Browser, type Page } from "playwright-core";
import sharp from "sharp";
import { GROUP, VERSION, type StyleTrainingStatus } from "../../../common/api/index.js";
import type { ProgressMessage } from "../../../common/progress.js";
import type { ObjectStore } from "../../../common/storage/index.js";
import {
  previewOriginalUri,
  previewStepPrefix,
  previewUri,
} from "../../../common/storage/training-layout.js";
import { subjects } from "../../../common/worker-env.js";
import { readTestEnv, REPO_ROOT } from "../../env/env-file.js";
import { chromiumPath } from "../../env/prerequisites.js";
import { minimalStyleTraining } from "../../fixtures/style-trainings.js";
import type { ControllerProcess } from "../../support/controller-process.js";
import { adminKubeConfig, waitFor } from "../../support/kubernetes.js";
import { applyManifests } from "../../support/manifests.js";
import { setUpOperator, type OperatorUnderTest } from "../../support/operator.js";
import { openTestStore } from "../../support/test-store.js";

const CHROMIUM = chromiumPath();
/** λs and λTV of the training the dashboard shows. */
const STYLE_WEIGHT = 3e-4;
const TV_WEIGHT = 1e-4;
const ARTIFACTS = resolve(REPO_ROOT, ".stylekube/artifacts");
const TOTAL_STEPS = 40_000;
/** The held-out photo of the previews published below. */
const PHOTO = "00-scene";

// The few browser types the page callbacks touch, declared here so the
// Node-only tsconfig needs no DOM lib.
interface Img {
  naturalWidth: number;
  decode(): Promise<void>;
}
interface Elementish {
  getBoundingClientRect(): { width: number };
  firstElementChild: Elementish | null;
}
interface Browserish {
  window: Record<string, unknown> & { innerWidth: number };
  document: {
    activeElement: { id: string; classList: { contains(c: string): boolean }; blur(): void } | null;
    documentElement: { scrollWidth: number };
  };
  sessionStorage: { setItem(k: string, v: string): void };
}

const DASHBOARD_AUTH_RBAC = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: stylekube-dashboard-auth
rules:
  - apiGroups: ["authentication.k8s.io"]
    resources: ["tokenreviews"]
    verbs: ["create"]
  - apiGroups: ["authorization.k8s.io"]
    resources: ["subjectaccessreviews"]
    verbs: ["create"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: stylekube-dashboard-auth
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: ClusterRole
  name: stylekube-dashboard-auth
subjects:
  - kind: ServiceAccount
    name: stylekube-controller
    namespace: stylekube-system
`;

type Obj = { metadata: k8s.V1ObjectMeta; spec: Record<string, unknown>; status?: StyleTrainingStatus };

/** A small scene as a JPEG; `t` (0…1) moves it from photo-like to "stylised", so the slider shows a change. */
async function scene(t: number, size = 256): Promise<Buffer> {
  const hue = (a: number) => `hsl(${Math.round(a)} ${Math.round(30 + 60 * t)}% ${Math.round(55 - 10 * t)}%)`;
  const strokes = Array.from({ length: Math.round(4 + 40 * t) }, (_, i) => {
    const x = (i * 53) % size;
    const y = (i * 97) % size;
    return `<circle cx="${x}" cy="${y}" r="${6 + ((i * 7) % 18) * t}" fill="${hue(i * 37)}" opacity="${0.25 + 0.6 * t}"/>`;
  }).join("");
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${size}" height="${size}">
    <rect width="100%" height="100%" fill="${hue(200)}"/>
    <rect y="${size * 0.62}" width="100%" height="${size * 0.38}" fill="${hue(110)}"/>
    <circle cx="${size * 0.72}" cy="${size * 0.25}" r="${size * 0.11}" fill="${hue(45)}"/>
    <path d="M0 ${size * 0.62} L${size * 0.3} ${size * 0.3} L${size * 0.55} ${size * 0.62}Z" fill="${hue(260)}"/>
    ${strokes}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 80 }).toBuffer();
}

describe("dashboard", () => {
  let kc: k8s.KubeConfig;
  let custom: k8s.CustomObjectsApi;
  let core: k8s.CoreV1Api;
  let ns: string;
  let nc: NatsConnection;
  let store: ObjectStore;
  let op: OperatorUnderTest;
  let controller: ControllerProcess;
  let modelServer: ServerProcess;
  let browser: Browser;
  let output: string;
  const token = randomBytes(24).toString("hex");

  before(async () => {
    const env = readTestEnv();
    // What the dashboard needs besides the operator's RBAC to accept Kubernetes
    // tokens: TokenReview and SubjectAccessReview (see docs/dashboard.md).
    const extraRbac = join(mkdtempSync(join(tmpdir(), "stylekube-rbac-")), "dashboard-auth.yaml");
    writeFileSync(extraRbac, DASHBOARD_AUTH_RBAC);
    await applyManifests(adminKubeConfig(), [extraRbac]);
    store = openTestStore();

    // The real model server with a model the trainer exported.
    const modelURI = await trainAndExport(
      store,
      `file://${join(mkdtempSync(join(tmpdir(), "stylekube-dash-model-")), "out")}/`,
      {
        seed: 7,
        style: "mosaic",
      },
    );
    modelServer = await startServerProcess({
      STYLEKUBE_STYLES: JSON.stringify({ mosaic: modelURI }),
      STYLEKUBE_ENGINE: "wasm",
      STYLEKUBE_ADMIN_API: "false",
    });
    await waitFor("model server ready", async () => (await fetch(`${modelServer.url}/v2/health/ready`)).ok);

    op = await setUpOperator("dashboard", (namespace) => ({
      STYLEKUBE_NATS_URL: env.natsUrl,
      STYLEKUBE_WATCH_NAMESPACE: namespace,
      STYLEKUBE_LEADER_ELECT: "false",
      STYLEKUBE_STATUS_INTERVAL_MS: "200",
      STYLEKUBE_DASHBOARD_TOKEN: token,
      STYLEKUBE_DASHBOARD_TOKEN_REVIEW: "true",
      STYLEKUBE_DASHBOARD_SERVING_URL: modelServer.url,
      // Read access to previews in MinIO.
      STYLEKUBE_S3_ENDPOINT: env.s3.endpoint,
      STYLEKUBE_S3_REGION: env.s3.region,
      STYLEKUBE_S3_FORCE_PATH_STYLE: "true",
      STYLEKUBE_S3_ACCESS_KEY_ID: env.s3.accessKeyId,
      STYLEKUBE_S3_SECRET_ACCESS_KEY: env.s3.secretAccessKey,
      STYLEKUBE_LOG_LEVEL: "info",
    }));
    ({ kc, namespace: ns, controller } = op);
    custom = kc.makeApiClient(k8s.CustomObjectsApi);
    core = kc.makeApiClient(k8s.CoreV1Api);
    output = `s3://${env.s3.bucket}/dashboard-${ns}/mosaic/`;
    await waitFor("readyz", async () => (await fetch(`${controller.url}/readyz`)).status === 200);
    nc = await connect({ servers: env.natsUrl });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
    mkdirSync(ARTIFACTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await nc?.close();
    await op?.cleanup();
    await modelServer?.stop();
    if (output) await store?.deletePrefix(output).catch(() => undefined);
    await store?.close();
  });

  const trainings = { group: GROUP, version: VERSION, plural: "styletrainings" };
  const servers = { group: GROUP, version: VERSION, plural: "styleservers" };
  const getTraining = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...trainings, namespace: ns, name })) as Obj;
  const getServer = async (name: string) =>
    (await custom.getNamespacedCustomObject({ ...servers, namespace: ns, name })) as Obj;
  const eventReasons = async (name: string) =>
    (
      await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` })
    ).items.map((e) => e.reason);

  const newPage = async (width = 1280, height = 800): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width, height } });
    page.on("pageerror", (err) => console.error(`page error: ${err.message}`));
    return page;
  };
  const withLogs = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new Error(`${what}: ${String(err)}\ncontroller log tail:\n${controller.logs().slice(-3000)}`, {
        cause: err,
      });
    }
  };

  /** Progress as the workers send it: every rank, every reported step. */
  const publishProgress = async (attempt: number, fromStep: number, toStep: number, every: number) => {
    const workers = 2;
    for (let step = fromStep; step <= toStep; step += every) {
      const decay = Math.exp(-step / 1500);
      const content = 2e5 + 2e5 * (1 - decay);
      const style = 8e9 * decay + 2e9;
      const tv = 1e7 + 3e7 * (1 - decay);
      for (let rank = 0; rank < workers; rank++) {
        const noise = 1 + 0.015 * Math.sin(step * 0.37 + rank) + 0.01 * Math.sin(step * 0.05);
        const msg: ProgressMessage = {
          jobId: `${ns}-mosaic`,
          attempt,
          rank,
          step,
          totalSteps: TOTAL_STEPS,
          imagesPerSecond: 6.2 + rank * 0.1,
          // Magnitudes as in a real 128² run with pretrained VGG-16 (docs/gallery.md): raw ℓstyle
          // ~1e10 and ℓTV ~1e7, with the training's λc 1, λs 3e-4, λTV 1e-4.
          loss: {
            total: (content + STYLE_WEIGHT * style + TV_WEIGHT * tv) * noise,
            content: content * noise,
            style: style * noise,
            tv: tv * noise,
          },
          time: new Date().toISOString(),
        };
        if (rank === 0 && step % 500 === 0 && step > 0) {
          // One held-out photo (the scene at t = 0) and its "stylised" version at this checkpoint.
          await store.put(previewOriginalUri(output, PHOTO), await scene(0), { contentType: "image/jpeg" });
          await store.put(previewUri(output, step, PHOTO), await scene(Math.min(1, step / 2500)), {
            contentType: "image/jpeg",
          });
          msg.preview = { uri: previewStepPrefix(output, step), step, photos: [PHOTO] };
          msg.checkpoint = { uri: `${output}checkpoints/step-${String(step).padStart(8, "0")}/`, step };
        }
        nc.publish(subjects.progress(ns, "mosaic"), new TextEncoder().encode(JSON.stringify(msg)));
      }
    }
    await nc.flush();
  };

  it("lists a StyleTraining and a StyleServer created through the API, with workers", async () => {
    const body = minimalStyleTraining("mosaic");
    body.spec = {
      ...body.spec,
      output,
      workers: 2,
      resources: { gpu: 0, cpu: "1", memory: "1Gi" },
      serving: { server: "default" },
      // The λs the published progress below is made with (not the defaults, which may change).
      hyperparameters: { styleWeight: STYLE_WEIGHT, tvWeight: TV_WEIGHT },
    };
    await custom.createNamespacedCustomObject({ ...trainings, namespace: ns, body });
    await custom.createNamespacedCustomObject({
      ...servers,
      namespace: ns,
      body: {
        apiVersion: "stylekube.io/v1alpha1",
        kind: "StyleServer",
        metadata: { name: "default" },
        spec: {
          replicas: 1,
          resources: { cpu: "1", memory: "1Gi" },
          styles: { mosaic: { modelURI: `${output}model/` } },
        },
      },
    });
    const page = await newPage();
    await page.goto(controller.url);
    const card = page.locator("#trainings .card", { hasText: "mosaic" });
    await card.waitFor({ timeout: 20_000 });
    await withLogs("training reaches Running on the page", () =>
      card.locator(".phase", { hasText: "Running" }).waitFor({ timeout: 30_000 }),
    );
    await card.click();
    await page.locator("#workers tbody tr", { hasText: "mosaic-a1-w1" }).waitFor();
    assert.equal(await page.locator("#workers tbody tr").count(), 2);
    assert.match((await page.locator("#detail-stats").textContent()) ?? "", /Workers ready2\/2/);
    assert.match((await page.locator("#events").textContent()) ?? "", /Running/);
    await page.locator("#servers .server", { hasText: "default" }).waitFor();
    await page.close();
  });

  it("updates progress and loss curves live, and keeps them across a reload", async () => {
    const page = await newPage();
    await page.goto(`${controller.url}/#/trainings/${ns}/mosaic`);
    await page.locator("#detail-title").waitFor();
    // A marker that a reload would wipe: proves the updates came without one.
    await page.evaluate(() => Object.assign(globalThis, { __noReload: true }));
    const attempt = (await getTraining("mosaic")).status?.attempt ?? 1;
    await publishProgress(attempt, 0, 1000, 10);
    await withLogs("live progress", () =>
      page.locator("#progress-text", { hasText: "Step 1,000 of 40,000" }).waitFor({ timeout: 15_000 }),
    );
    await page.locator("#charts polyline").first().waitFor();
    const points = async () =>
      page.locator(".chart.total polyline").evaluate((el) => el.getAttribute("points")!.split(" ").length);
    await waitFor("101 points in the chart", async () => (await points()) === 101, 10_000);
    // Each term is drawn as its share of the total, λ·ℓ: the raw ℓTV published here is
    // 1e7–4e7 and the training's λTV 1e-4, so the TV chart shows thousands, and the
    // three shown terms add up to the total.
    assert.match(
      (await page.locator(".chart.tv figcaption span").textContent()) ?? "",
      /TV loss × λ 1\.00e-4/,
    );
    const shown = async (term: string): Promise<number> =>
      Number((await page.locator(`.chart.${term} [data-term="${term}"]`).textContent())?.replace(/,/g, ""));
    const tvShown = await shown("tv");
    assert.ok(tvShown > 500 && tvShown < 5000, `TV term shown as ${tvShown}, expected λ·ℓ of a few thousand`);
    const sum = (await shown("content")) + (await shown("style")) + tvShown;
    const total = await shown("total");
    assert.ok(Math.abs(sum - total) / total < 0.01, `terms add up to ${sum}, total ${total}`);
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as { __noReload?: boolean }).__noReload),
      true,
    );
    assert.match((await page.locator("#detail-stats").textContent()) ?? "", /Images\/s12\.5/);
    // A second burst moves the curve again, still without a reload.
    await publishProgress(attempt, 1010, 2500, 10);
    await waitFor("250 points", async () => (await points()) === 251, 10_000);
    await page.locator("#preview-slider").waitFor();

    const cspViolations: string[] = [];
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    await page.reload();
    await page.locator("#progress-text", { hasText: "Step 2,500" }).waitFor();
    // The bars are drawn as wide as the progress (2,500 of 40,000: 6.25 %),
    // on the detail page and on the training's card, within the CSP.
    const drawnFraction = (bar: string) =>
      page.locator(bar).evaluate((node) => {
        const el = node as unknown as Elementish;
        const track = el.getBoundingClientRect().width;
        const fill = el.firstElementChild!.getBoundingClientRect().width;
        return fill / track;
      });
    await waitFor(
      "bars drawn at 6.25 %",
      async () => {
        const detail = await drawnFraction("#detail-progress .bar.big");
        const card = await drawnFraction('#trainings .card[data-key$="/mosaic"] .bar');
        return Math.abs(detail - 0.0625) < 0.01 && Math.abs(card - 0.0625) < 0.01;
      },
      5_000,
    ).catch(async (err: unknown) => {
      const detail = await drawnFraction("#detail-progress .bar.big");
      const card = await drawnFraction('#trainings .card[data-key$="/mosaic"] .bar');
      const text = await page.locator('#trainings .card[data-key$="/mosaic"]').textContent();
      throw new Error(
        `bars drawn at ${(detail * 100).toFixed(1)} % (detail) and ${(card * 100).toFixed(1)} % (card "${text}"): ${String(err)}`,
        { cause: err },
      );
    });
    assert.deepEqual(cspViolations, [], "the page breaks its own Content Security Policy");
    await waitFor("history after reload", async () => (await points()) === 251, 10_000);
    // Previews from storage, one per checkpoint, with a slider.
    const slider = page.locator("#preview-slider");
    assert.equal(await slider.getAttribute("max"), "4"); // steps 500 … 2500
    const stylised = page.locator("#previews .preview-stylised");
    await waitFor("preview image loaded", () =>
      stylised.evaluate((img) => (img as unknown as Img).naturalWidth === 256),
    );
    await slider.focus();
    await page.keyboard.press("Home");
    await page.locator("#preview-caption", { hasText: "Step 500" }).waitFor();
    assert.match((await stylised.getAttribute("src")) ?? "", /previews\/500\/00-scene$/);
    assert.match(
      (await page.locator("#previews .preview-original").getAttribute("src")) ?? "",
      /previews\/photos\/00-scene$/,
    );
    await page.keyboard.press("End");
    await stylised.evaluate((img) => (img as unknown as Img).decode());
    await page.locator("#servers [data-ready]", { hasText: "1 of 1 ready" }).waitFor({ timeout: 30_000 });
    await page.evaluate(() => (globalThis as unknown as Browserish).document.activeElement?.blur());
    const desktop = join(ARTIFACTS, "dashboard-1280x800.png");
    await page.screenshot({ path: desktop });
    if (process.env.STYLEKUBE_UPDATE_SCREENSHOT === "1")
      copyFileSync(desktop, resolve(REPO_ROOT, "docs/dashboard.png"));
    await page.close();

    // The operator proxies only previews it was told about, inside the output prefix.
    const direct = await fetch(`${controller.url}/api/trainings/${ns}/mosaic/previews/999/${PHOTO}`);
    assert.equal(direct.status, 404);
    const unnamed = await fetch(`${controller.url}/api/trainings/${ns}/mosaic/previews/500/other`);
    assert.equal(unnamed.status, 400);
  });

  it("scales a StyleServer with the token, writing an event", async () => {
    const page = await newPage();
    await page.goto(`${controller.url}/#/trainings/${ns}/mosaic`);
    const card = page.locator("#servers .server", { hasText: "default" });
    await withLogs("server ready on the page", () =>
      card.locator("[data-ready]", { hasText: "1 of 1 ready" }).waitFor({ timeout: 30_000 }),
    );
    // Set the token with the keyboard only.
    await page.locator("#token-button").focus();
    await page.keyboard.press("Enter");
    await page.keyboard.type(token);
    await page.keyboard.press("Enter");
    await page.locator("#token-button", { hasText: "Token set" }).waitFor();

    await card.getByRole("button", { name: "Scale default to 2 replicas" }).click();
    await withLogs("spec.replicas = 2 in the apiserver", () =>
      waitFor("replicas 2", async () => (await getServer("default")).spec.replicas === 2, 10_000),
    );
    await card.locator("output", { hasText: "2" }).waitFor();
    await waitFor("DashboardScaled event", async () =>
      (await eventReasons("default")).includes("DashboardScaled"),
    );
    assert.match(controller.logs(), /Scaled from 1 to 2 replicas by dashboard-token via the dashboard/);
    await page.close();
  });

  it("refuses actions without a valid token or from another origin, and changes nothing", async () => {
    const page = await newPage();
    await page.goto(controller.url);
    const card = page.locator("#servers .server", { hasText: "default" });
    await card.waitFor();
    // The page's own button, with no token in this tab: refused and shown.
    const refused = page.waitForResponse((r) => r.url().endsWith("/scale"));
    await card.getByRole("button", { name: "Scale default to 3 replicas" }).click();
    assert.equal((await refused).status(), 401);
    await page.locator("#toast", { hasText: "401" }).waitFor();
    assert.equal(
      await page.locator("#token-dialog").evaluate((d) => (d as unknown as { open: boolean }).open),
      true,
    );
    // Straight to the API from the page: no token, a wrong token.
    // (No named functions inside evaluate: tsx would wrap them in a helper the page lacks.)
    const statuses = await page.evaluate(
      async ([ns, headers]) =>
        Promise.all([
          ...headers.map((h) =>
            fetch(`/api/servers/${ns}/default/scale`, {
              method: "POST",
              headers: { "content-type": "application/json", ...h },
              body: JSON.stringify({ replicas: 5 }),
            }).then((r) => r.status),
          ),
          fetch(`/api/trainings/${ns}/mosaic`, { method: "DELETE" }).then((r) => r.status),
        ]),
      [ns, [{}, { authorization: "Bearer not-the-token" }]] as const,
    );
    assert.deepEqual(statuses, [401, 401, 401]);
    // The right token from another site's page: refused on Origin before the token is looked at.
    const cross = await fetch(`${controller.url}/api/servers/${ns}/default/scale`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${token}`,
        origin: "https://evil.example",
      },
      body: JSON.stringify({ replicas: 5 }),
    });
    assert.equal(cross.status, 403);
    // The error shape the model server uses too: {error: {code, message}}.
    assert.deepEqual(await cross.json(), {
      error: { code: "forbidden", message: "cross-origin request refused" },
    });
    // A form post (no JSON) is refused too.
    const form = await fetch(`${controller.url}/api/servers/${ns}/default/scale`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${token}` },
      body: "replicas=5",
    });
    assert.equal(form.status, 415);
    assert.equal(((await form.json()) as { error: { code: string } }).error.code, "unsupported_media_type");
    assert.equal((await getServer("default")).spec.replicas, 2);
    assert.ok(await getTraining("mosaic"));
    assert.match(controller.logs(), /dashboard action refused/);
    await page.close();
  });

  it("accepts a Kubernetes token whose user RBAC allows the action, and only that", async () => {
    const rbac = kc.makeApiClient(k8s.RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: ns,
      body: {
        metadata: { name: "scaler" },
        rules: [{ apiGroups: [GROUP], resources: ["styleservers/scale"], verbs: ["patch"] }],
      },
    });
    for (const name of ["scaler", "viewer"])
      await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
    await rbac.createNamespacedRoleBinding({
      namespace: ns,
      body: {
        metadata: { name: "scaler" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "scaler" },
        subjects: [{ kind: "ServiceAccount", name: "scaler", namespace: ns }],
      },
    });
    const tokenOf = async (name: string) =>
      (
        await core.createNamespacedServiceAccountToken({
          name,
          namespace: ns,
          body: { spec: { audiences: [], expirationSeconds: 600 } },
        })
      ).status!.token;
    const scaleWith = (bearer: string, replicas: number) =>
      fetch(`${controller.url}/api/servers/${ns}/default/scale`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
        body: JSON.stringify({ replicas }),
      });
    const viewer = await scaleWith(await tokenOf("viewer"), 4);
    assert.equal(viewer.status, 403, await viewer.text());
    assert.equal((await getServer("default")).spec.replicas, 2);
    // The scaler may scale, but not suspend or delete trainings.
    const scaler = await tokenOf("scaler");
    const ok = await scaleWith(scaler, 3);
    assert.equal(ok.status, 200, await ok.text());
    await waitFor("replicas 3", async () => (await getServer("default")).spec.replicas === 3, 10_000);
    const suspend = await fetch(`${controller.url}/api/trainings/${ns}/mosaic/suspend`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${scaler}` },
      body: JSON.stringify({ suspend: true }),
    });
    assert.equal(suspend.status, 403);
    assert.equal((await getTraining("mosaic")).spec.suspend, false);
    assert.match(
      controller.logs(),
      new RegExp(`Scaled from 2 to 3 replicas by system:serviceaccount:${ns}:scaler`),
    );
  });

  it("suspends a training from its page", async () => {
    const page = await newPage();
    await page.goto(controller.url);
    await page.evaluate(
      (t) => (globalThis as unknown as Browserish).sessionStorage.setItem("stylekube.token", t),
      token,
    );
    await page.goto(`${controller.url}/#/trainings/${ns}/mosaic`);
    await page.getByRole("button", { name: "Suspend" }).click();
    await waitFor("spec.suspend", async () => (await getTraining("mosaic")).spec.suspend === true, 10_000);
    await page.locator("#detail-phase", { hasText: "Suspended" }).waitFor({ timeout: 20_000 });
    await page.getByRole("button", { name: "Resume" }).click();
    await waitFor("resumed", async () => (await getTraining("mosaic")).spec.suspend === false, 10_000);
    await waitFor("events", async () => {
      const reasons = await eventReasons("mosaic");
      return reasons.includes("DashboardSuspended") && reasons.includes("DashboardResumed");
    });
    await page.close();
  });

  it("tries a style on an uploaded photo", async () => {
    const page = await newPage();
    await page.goto(controller.url);
    const card = page.locator("#servers .server", { hasText: "default" });
    await card
      .getByLabel("Photo")
      .setInputFiles({ name: "photo.jpg", mimeType: "image/jpeg", buffer: await scene(0, 320) });
    await card.getByRole("button", { name: "Stylize" }).click();
    const result = card.locator("img[data-result]");
    await withLogs("stylized result", () => result.waitFor({ timeout: 15_000 }));
    await waitFor("result decoded", () =>
      result.evaluate((img) => (img as unknown as Img).naturalWidth === 320),
    );
    // The model server itself served it.
    const metrics = await (await fetch(`${modelServer.url}/metrics`)).text();
    assert.match(metrics, /stylekube_stylize_requests_total\{[^}]*style="mosaic"[^}]*\} 1\b/);
    await page.close();
  });

  it("is small, keyboard usable and readable at phone width", async () => {
    let bytes = 0;
    const page = await newPage();
    page.on("response", (r) => {
      if (/\/assets\/|\/$/.test(new URL(r.url()).pathname))
        void r
          .body()
          .then((b) => (bytes += b.length))
          .catch(() => undefined);
    });
    await page.goto(controller.url, { waitUntil: "networkidle" });
    assert.ok(bytes > 0 && bytes < 300 * 1024, `first load ${bytes} bytes`);
    // Keyboard: Tab from the top reaches the training; Enter opens it.
    await page.keyboard.press("Tab"); // skip link
    for (
      let i = 0;
      i < 6 &&
      !(await page.evaluate(() =>
        (globalThis as unknown as Browserish).document.activeElement?.classList.contains("card"),
      ));
      i++
    )
      await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.locator("#detail-title").waitFor();
    assert.equal(
      await page.evaluate(() => (globalThis as unknown as Browserish).document.activeElement?.id),
      "detail-title",
    );
    await page.close();

    const phone = await newPage(390, 844);
    await phone.goto(`${controller.url}/#/trainings/${ns}/mosaic`);
    await phone.locator("#detail-title").waitFor();
    const overflow = await phone.evaluate(() => {
      const g = globalThis as unknown as Browserish;
      return g.document.documentElement.scrollWidth - g.window.innerWidth;
    });
    assert.ok(overflow <= 0, `page is ${overflow}px wider than a phone`);
    await phone.screenshot({ path: join(ARTIFACTS, "dashboard-phone.png"), fullPage: true });
    await phone.close();
  });
});
