// @ts-check
/* global window, document, location, history, sessionStorage, fetch, URL, CSS, EventSource, matchMedia, confirm, setTimeout, clearTimeout, setInterval, HTMLElement -- the browser's (eslint's config knows only Node) */
// stylekube dashboard, in the browser. Vanilla JS, no framework, no build
// step: the operator serves this file as it is. Every value from the API is
// put into the page with textContent or attributes, never as HTML.
// Live updates come over one EventSource (/api/stream); its first message
// after every (re)connect is a full snapshot.

/** @typedef {{step:number,total:number,content:number,style:number,tv:number,time:number}} LossPoint */
/** @typedef {{type:string,reason:string,message:string,time:string,count:number}} RecentEvent */
/** @typedef {{name:string,rank:number|null,attempt:number|null,phase:string,ready:boolean,reason:string|null,restarts:number,node:string|null}} WorkerPod */
/** @typedef {{step:number,photos:string[]}} Preview */
/**
 * @typedef {{key:string,namespace:string,name:string,phase:string,suspend:boolean,attempt:number,restarts:number,
 *   backoffLimit:number|null,workers:{ready:number,total:number,desired:number},
 *   progress:{step:number,totalSteps:number,percent:number,imagesPerSecond:number,etaSeconds?:number,
 *     loss?:{total:number,content:number,style:number,tv:number}}|null,
 *   live:boolean,lastCheckpoint:{uri:string,step:number,time:string}|null,modelURI:string|null,
 *   serving:{server:string,style:string}|null,startTime:string|null,completionTime:string|null,
 *   conditions:{type:string,status:string,reason?:string,message?:string}[],pods:WorkerPod[],events:RecentEvent[],
 *   previews:Preview[],invalidSpec:boolean,lossWeights:{content:number,style:number,tv:number}|null}} Training
 */
/**
 * @typedef {{key:string,namespace:string,name:string,replicas:number,statusReplicas:number,readyReplicas:number,
 *   styles:string[],loadedStyles:string[],autoscaling:{minReplicas:number,maxReplicas:number}|null,events:RecentEvent[]}} Server
 */

const TOKEN_KEY = "stylekube.token";
const TERMS = /** @type {const} */ ([
  ["total", "Total"],
  ["content", "Content"],
  ["style", "Style"],
  ["tv", "TV"],
]);

const state = {
  /** @type {Map<string, Training>} */ trainings: new Map(),
  /** @type {Map<string, Server>} */ servers: new Map(),
  /** @type {string|null} */ selected: null,
  /** @type {LossPoint[]} */ history: [],
  actionsEnabled: false,
  /** Step shown by the preview slider; null follows the newest. */
  /** @type {number|null} */ previewStep: null,
};

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * Create an element; children are strings (as text) or nodes.
 * @param {string} tag
 * @param {Record<string, string|number|boolean|undefined|null>} [attrs]
 * @param {(Node|string|null|undefined|false)[]} children
 */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") el.className = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/**
 * The filled part of a progress bar. Its width is set through the CSSOM: the
 * page's CSP (style-src 'self') blocks inline style attributes, so a
 * `style="width:…"` would leave the bar drawn full whatever the progress.
 * @param {number} percent
 */
function barFill(percent) {
  const fill = h("span");
  fill.style.width = `${Math.min(100, Math.max(0, percent))}%`;
  return fill;
}

/** @param {string} tag @param {Record<string,string>} attrs */
function svg(tag, attrs = {}) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  return el;
}

// ---- formatting -------------------------------------------------------------

/** @param {number|undefined|null} s */
function duration(s) {
  if (s === undefined || s === null || !Number.isFinite(s)) return "—";
  s = Math.round(s);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

/** @param {number|undefined|null} v */
function num(v) {
  if (v === undefined || v === null || !Number.isFinite(v)) return "—";
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
  return v.toLocaleString(undefined, { maximumSignificantDigits: 4 });
}

/** Short tick labels: 248k, 1.4M, 2.2e-3. @param {number} v */
function tick(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toPrecision(3)}M`;
  if (a >= 1e4) return `${(v / 1e3).toPrecision(3)}k`;
  if (a !== 0 && a < 0.01) return v.toExponential(1);
  return String(Number(v.toPrecision(3)));
}

/** @param {string|null|undefined} iso */
function ago(iso) {
  if (!iso) return "—";
  const s = (Date.now() - Date.parse(iso)) / 1000;
  return s < 5 ? "just now" : `${duration(s)} ago`;
}

// ---- API --------------------------------------------------------------------

/** @param {string} msg @param {boolean} [error] */
function toast(msg, error = false) {
  const t = $("toast");
  t.textContent = msg;
  t.className = `toast show${error ? " error" : ""}`;
  clearTimeout(Number(t.dataset.timer));
  t.dataset.timer = String(setTimeout(() => (t.className = "toast"), error ? 7000 : 3500));
}

/**
 * An action: JSON in, bearer token in the Authorization header (never a
 * cookie, so another site cannot make the browser send it).
 * @param {string} method @param {string} path @param {unknown} [body]
 */
async function act(method, path, body) {
  const token = sessionStorage.getItem(TOKEN_KEY);
  /** @type {Record<string,string>} */
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "omit",
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) {
    const msg = `${res.status}: ${data.error?.message ?? res.statusText}`;
    toast(msg, true);
    if (res.status === 401) openTokenDialog();
    throw new Error(msg);
  }
  return data;
}

/** @param {string} key */
const apiPath = (key) =>
  key
    .split("/")
    .map((p) => encodeURIComponent(p))
    .join("/");

// ---- trainings list ---------------------------------------------------------

function renderTrainings() {
  const list = $("trainings");
  const items = [...state.trainings.values()].sort((a, b) => a.key.localeCompare(b.key));
  $("trainings-empty").hidden = items.length > 0;
  const focused =
    document.activeElement instanceof HTMLElement ? document.activeElement.dataset.key : undefined;
  list.replaceChildren(
    ...items.map((t) => {
      const pct = t.progress?.percent ?? 0;
      const loss = t.progress?.loss?.total;
      const button = h(
        "button",
        {
          type: "button",
          class: "card",
          "data-key": t.key,
          "aria-current": state.selected === t.key ? "true" : "false",
          "aria-label": `${t.name} in ${t.namespace}: ${t.phase}, ${pct}%`,
        },
        h(
          "span",
          { class: "card-line" },
          h("span", { class: "card-name" }, t.name),
          h("span", { class: `phase phase-${t.phase}` }, t.phase),
        ),
        h("span", { class: "bar", "aria-hidden": "true" }, barFill(pct)),
        h(
          "span",
          { class: "card-line meta" },
          h("span", {}, `${t.namespace} · ${pct}%`),
          h("span", {}, loss !== undefined ? `loss ${num(loss)}` : ""),
          h("span", {}, `workers ${t.workers.ready}/${t.workers.desired}`),
        ),
      );
      button.addEventListener("click", () => select(t.key, true));
      return h("li", {}, button);
    }),
  );
  // Re-rendering replaced the focused card: put focus back where it was.
  if (focused)
    /** @type {HTMLElement|null} */ (list.querySelector(`[data-key="${CSS.escape(focused)}"]`))?.focus();
}

/** @param {string|null} key @param {boolean} [focus] */
async function select(key, focus = false) {
  state.selected = key;
  state.history = [];
  state.previewStep = null;
  history.replaceState(null, "", key ? `#/trainings/${key}` : "#");
  renderTrainings();
  renderDetail();
  if (!key) return;
  if (focus) $("detail-title").focus();
  try {
    const res = await fetch(`/api/trainings/${apiPath(key)}`);
    if (!res.ok) return;
    const data = await res.json();
    if (state.selected !== key) return;
    state.trainings.set(key, data.training);
    state.history = data.history;
    renderDetail();
    renderCharts();
  } catch {
    /* the stream will bring it */
  }
}

// ---- training detail ----------------------------------------------------------

function renderDetail() {
  const t = state.selected ? state.trainings.get(state.selected) : undefined;
  const detail = $("detail");
  detail.hidden = !t;
  if (!t) return;
  $("detail-title").textContent = `${t.namespace}/${t.name}`;
  const phase = $("detail-phase");
  phase.textContent = t.phase;
  phase.className = `phase phase-${t.phase}`;
  const suspend = /** @type {HTMLButtonElement} */ ($("suspend-button"));
  suspend.textContent = t.suspend ? "Resume" : "Suspend";
  const finished = t.phase === "Succeeded" || t.phase === "Failed";
  suspend.disabled = !state.actionsEnabled || finished;
  /** @type {HTMLButtonElement} */ ($("delete-button")).disabled = !state.actionsEnabled;

  const p = t.progress;
  const pct = p?.percent ?? 0;
  $("detail-progress").replaceChildren(
    h(
      "div",
      { class: "progress-label" },
      h(
        "span",
        { id: "progress-text" },
        p ? `Step ${p.step.toLocaleString()} of ${p.totalSteps.toLocaleString()}` : "No progress yet",
      ),
      h("b", {}, `${pct}%`),
    ),
    h(
      "div",
      {
        class: "bar big",
        role: "progressbar",
        "aria-labelledby": "progress-text",
        "aria-valuemin": 0,
        "aria-valuemax": 100,
        "aria-valuenow": pct,
        "aria-valuetext": `${pct}%`,
      },
      barFill(pct),
    ),
  );

  /** @type {[string, string][]} */
  const stats = [
    ["ETA", t.phase === "Running" ? duration(p?.etaSeconds) : "—"],
    ["Images/s", num(p?.imagesPerSecond)],
    ["Attempt", String(t.attempt)],
    ["Restarts", t.backoffLimit !== null ? `${t.restarts} of ${t.backoffLimit}` : String(t.restarts)],
    ["Workers ready", `${t.workers.ready}/${t.workers.total} (want ${t.workers.desired})`],
    ["Started", ago(t.startTime)],
    ["Last checkpoint", t.lastCheckpoint ? `step ${t.lastCheckpoint.step.toLocaleString()}` : "—"],
    ["Progress from", t.live ? "workers, live" : "status"],
  ];
  if (t.modelURI) stats.push(["Model", t.modelURI]);
  if (t.serving) stats.push(["Deploys to", `${t.serving.server} / ${t.serving.style}`]);
  const failed = t.conditions.find((c) => c.type === "Failed" && c.status === "True");
  if (failed) stats.push(["Failed", `${failed.reason ?? ""}: ${failed.message ?? ""}`]);
  $("detail-stats").replaceChildren(...stats.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, v))));

  renderPreviews(t);

  const tbody = /** @type {HTMLElement} */ ($("workers").querySelector("tbody"));
  tbody.replaceChildren(
    ...(t.pods.length === 0
      ? [h("tr", {}, h("td", { colspan: 6, class: "muted" }, "No worker pods"))]
      : t.pods.map((w) =>
          h(
            "tr",
            {},
            h("td", {}, w.name),
            h("td", {}, w.rank === null ? "—" : String(w.rank)),
            h("td", {}, w.attempt === null ? "—" : String(w.attempt)),
            h(
              "td",
              {},
              h("span", { class: `phase phase-${w.phase === "Succeeded" ? "Succeeded" : w.phase}` }, w.phase),
            ),
            h("td", {}, w.ready ? "yes" : "no"),
            h(
              "td",
              {},
              [w.reason, w.restarts ? `${w.restarts} restarts` : "", w.node ? `on ${w.node}` : ""]
                .filter(Boolean)
                .join(" · "),
            ),
          ),
        )),
  );
  $("events").replaceChildren(
    ...(t.events.length === 0
      ? [h("li", { class: "muted" }, "No events recorded by this operator yet")]
      : t.events.map((e) =>
          h(
            "li",
            {},
            h("time", { datetime: e.time, title: e.time }, ago(e.time)),
            h("span", { class: e.type }, e.reason),
            ` ${e.message}${e.count > 1 ? ` (×${e.count})` : ""}`,
          ),
        )),
  );
}

/** A held-out photo's name without its place (`00-chelsea` → `chelsea`). @param {string} photo */
const photoLabel = (photo) => photo.replace(/^\d+-/, "");

/** @param {Training} t @param {number} step @param {string} photo */
const stylisedSrc = (t, step, photo) =>
  `/api/trainings/${apiPath(t.key)}/previews/${step}/${encodeURIComponent(photo)}`;

/** @param {Training} t @param {string} photo */
const originalSrc = (t, photo) =>
  `/api/trainings/${apiPath(t.key)}/previews/photos/${encodeURIComponent(photo)}`;

/**
 * One figure per held-out photo: the photo, and beside it the photo stylised
 * by the checkpoint at `step`.
 * @param {Training} t @param {Preview} preview
 */
function previewFigures(t, preview) {
  return h(
    "div",
    { class: "preview-grid", "data-photos": preview.photos.join(" ") },
    ...preview.photos.map((photo) =>
      h(
        "figure",
        { class: "preview-pair", "data-photo": photo },
        h("img", {
          class: "preview-original",
          src: originalSrc(t, photo),
          alt: `${photoLabel(photo)}, held-out photo`,
        }),
        h("img", {
          class: "preview-stylised",
          src: stylisedSrc(t, preview.step, photo),
          alt: `${photoLabel(photo)}, stylised at step ${preview.step}`,
        }),
        h("figcaption", {}, photoLabel(photo)),
      ),
    ),
  );
}

/** @param {Training} t */
function renderPreviews(t) {
  const box = $("previews");
  const previews = t.previews;
  if (previews.length === 0) {
    box.replaceChildren(
      h(
        "p",
        { class: "muted" },
        "No previews yet: at every checkpoint rank 0 stylises the held-out photos of spec.previews.photos (default: held-out/ beside the dataset).",
      ),
    );
    return;
  }
  const steps = previews.map((p) => p.step);
  const step =
    state.previewStep !== null && steps.includes(state.previewStep)
      ? state.previewStep
      : steps[steps.length - 1];
  const index = steps.indexOf(/** @type {number} */ (step));
  const signature = previews.map((p) => `${p.step}:${p.photos.join(",")}`).join(" ");
  const existing = /** @type {HTMLInputElement|null} */ (box.querySelector("input[type=range]"));
  if (existing && existing.dataset.key === t.key && existing.dataset.signature === signature) {
    // Same list: leave the slider alone (the user may be dragging it).
    return;
  }
  let figures = previewFigures(t, /** @type {Preview} */ (previews[index]));
  const caption = h(
    "output",
    { id: "preview-caption", for: "preview-slider" },
    `Step ${Number(step).toLocaleString()}`,
  );
  const slider = /** @type {HTMLInputElement} */ (
    h("input", {
      type: "range",
      id: "preview-slider",
      min: 0,
      max: previews.length - 1,
      step: 1,
      value: index,
      "data-key": t.key,
      "data-signature": signature,
      "aria-valuetext": `step ${step}`,
    })
  );
  slider.addEventListener("input", () => {
    const p = previews[Number(slider.value)];
    if (p === undefined) return;
    // The newest position follows new previews; any other stays put.
    state.previewStep = Number(slider.value) === previews.length - 1 ? null : p.step;
    caption.textContent = `Step ${p.step.toLocaleString()}`;
    slider.setAttribute("aria-valuetext", `step ${p.step}`);
    if (figures.dataset.photos === p.photos.join(" ")) {
      // The same photos: swap the stylised images in place (no flicker of the originals).
      for (const fig of figures.querySelectorAll("figure")) {
        const photo = /** @type {HTMLElement} */ (fig).dataset.photo ?? "";
        const img = /** @type {HTMLElement} */ (fig.querySelector(".preview-stylised"));
        img.setAttribute("src", stylisedSrc(t, p.step, photo));
        img.setAttribute("alt", `${photoLabel(photo)}, stylised at step ${p.step}`);
      }
    } else {
      const next = previewFigures(t, p);
      figures.replaceWith(next);
      figures = next;
    }
  });
  const hadFocus = document.activeElement === existing;
  box.replaceChildren(
    h(
      "div",
      { class: "slider" },
      h("label", { for: "preview-slider" }, `Checkpoint (${previews.length})`),
      slider,
      caption,
    ),
    figures,
  );
  if (hadFocus) slider.focus();
}

// ---- loss charts --------------------------------------------------------------

const W = 300;
const H = 130;
const PAD = { l: 40, r: 6, t: 6, b: 18 };

function renderCharts() {
  const box = $("charts");
  const t = state.selected ? state.trainings.get(state.selected) : undefined;
  const weights = t?.lossWeights ?? null;
  box.replaceChildren(
    ...TERMS.map(([field, label]) => {
      // Each term as its share of the total, λ·ℓ (the raw ℓTV of a 256² image is ~1e7).
      const w = field === "total" ? 1 : (weights?.[field] ?? 1);
      const weighted = field !== "total" && weights !== null;
      const pts = state.history.map((p) => ({ step: p.step, v: p[field] * w }));
      const values = pts.map((p) => p.v);
      const last = pts.at(-1);
      const raw = state.history.at(-1)?.[field];
      const fig = h("figure", { class: `chart ${field}` });
      const latest = last ? num(last.v) : "—";
      const caption = weighted ? `${label} loss × λ ${num(w)}` : `${label} loss`;
      fig.append(
        h(
          "figcaption",
          { title: weighted && raw !== undefined ? `unweighted ${num(raw)}` : "" },
          h("span", {}, caption),
          h("b", { "data-term": field }, latest),
        ),
      );
      const s = svg("svg", {
        viewBox: `0 0 ${W} ${H}`,
        role: "img",
        "aria-label": last
          ? `${caption} over ${pts.length} points, latest ${latest} at step ${last.step}`
          : `${caption}: no data yet`,
      });
      s.append(
        svg("line", {
          class: "axis",
          x1: String(PAD.l),
          y1: String(H - PAD.b),
          x2: String(W - PAD.r),
          y2: String(H - PAD.b),
        }),
      );
      s.append(
        svg("line", {
          class: "axis",
          x1: String(PAD.l),
          y1: String(PAD.t),
          x2: String(PAD.l),
          y2: String(H - PAD.b),
        }),
      );
      if (pts.length > 0) {
        let lo = Math.min(...values);
        let hi = Math.max(...values);
        // Loss falls by orders of magnitude early on: a log axis keeps the tail readable.
        const log = lo > 0 && hi / lo > 20;
        const f = log ? Math.log10 : (/** @type {number} */ v) => v;
        let flo = f(lo);
        let fhi = f(hi);
        if (fhi - flo < 1e-12) {
          fhi += 0.5;
          flo -= 0.5;
        }
        const x0 = pts[0].step;
        const x1 = Math.max(x0 + 1, /** @type {{step:number}} */ (last).step);
        const X = (/** @type {number} */ step) => PAD.l + ((step - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
        const Y = (/** @type {number} */ v) => H - PAD.b - ((f(v) - flo) / (fhi - flo)) * (H - PAD.t - PAD.b);
        const line = svg("polyline", {
          points: pts.map((p) => `${X(p.step).toFixed(1)},${Y(p.v).toFixed(1)}`).join(" "),
        });
        s.append(line);
        const label = (
          /** @type {string} */ text,
          /** @type {number} */ x,
          /** @type {number} */ y,
          anchor = "end",
        ) => {
          const el = svg("text", { x: String(x), y: String(y), "text-anchor": anchor });
          el.textContent = text;
          return el;
        };
        s.append(label(tick(hi), PAD.l - 3, PAD.t + 8));
        s.append(label(tick(lo), PAD.l - 3, H - PAD.b));
        if (log) s.append(label("log", PAD.l - 3, (H - PAD.b + PAD.t) / 2 + 3));
        s.append(label(x0.toLocaleString(), PAD.l, H - 5, "start"));
        s.append(label(`step ${x1.toLocaleString()}`, W - PAD.r, H - 5));
      }
      fig.append(s);
      return fig;
    }),
  );
}

/** @param {LossPoint[]} points */
function mergePoints(points) {
  const h0 = state.history;
  for (const p of points) {
    // A restarted attempt resumes from its checkpoint: drop the redone tail.
    while (
      h0.length > 0 &&
      /** @type {LossPoint} */ (h0.at(-1)).step > p.step &&
      p.step < h0[Math.max(0, h0.length - 16)].step
    )
      h0.pop();
    const i = h0.findLastIndex((q) => q.step === p.step);
    if (i >= 0) h0[i] = p;
    else if (h0.length === 0 || /** @type {LossPoint} */ (h0.at(-1)).step < p.step) h0.push(p);
  }
}

// ---- servers ------------------------------------------------------------------

/** @param {Server} s */
function serverCard(s) {
  const id = `server-${s.key.replace(/[^a-z0-9-]/g, "-")}`;
  let card = /** @type {HTMLElement|null} */ (document.getElementById(id));
  if (!card) {
    card = h("article", { class: "server", id, "aria-labelledby": `${id}-title` });
    const minus = h("button", { type: "button", class: "secondary", "data-scale": "-1" }, "−");
    const plus = h("button", { type: "button", class: "secondary", "data-scale": "1" }, "+");
    const out = h("output", { id: `${id}-replicas`, "aria-live": "polite" });
    for (const b of [minus, plus]) b.addEventListener("click", () => scale(s.key, Number(b.dataset.scale)));
    const select = h("select", { id: `${id}-style`, name: "style" });
    const file = h("input", {
      id: `${id}-file`,
      type: "file",
      accept: "image/jpeg,image/png,image/webp",
      required: true,
    });
    const result = h("div", { class: "result", "aria-live": "polite" });
    const form = h(
      "form",
      { class: "tryit", "aria-label": `Try ${s.name}` },
      h("strong", {}, "Try it"),
      h("div", { class: "row" }, h("label", { for: `${id}-style` }, "Style"), select),
      h("div", { class: "row" }, h("label", { for: `${id}-file` }, "Photo"), file),
      h("div", { class: "row" }, h("button", { type: "submit" }, "Stylize")),
      result,
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      void tryIt(
        s.key,
        /** @type {HTMLSelectElement} */ (select),
        /** @type {HTMLInputElement} */ (file),
        result,
        form,
      );
    });
    card.append(
      h("h3", { id: `${id}-title` }, s.name, h("span", { class: "muted small" }, ` · ${s.namespace}`)),
      h("p", { class: "small", "data-ready": "" }),
      h("ul", { class: "styles", "aria-label": "Styles" }),
      h(
        "div",
        { class: "scale", role: "group", "aria-label": `Scale ${s.name}` },
        h("span", {}, "Replicas"),
        minus,
        out,
        plus,
        h("span", { class: "muted small", "data-autoscale": "" }),
      ),
      form,
    );
  }
  // Update in place, so a chosen photo or focus is never lost to a live update.
  const autoscaled = s.autoscaling !== null;
  /** @type {HTMLElement} */ (card.querySelector("output")).textContent = String(s.replicas);
  const ready = /** @type {HTMLElement} */ (card.querySelector("[data-ready]"));
  ready.textContent = `${s.readyReplicas} of ${s.replicas} ready${s.statusReplicas !== s.replicas ? ` (${s.statusReplicas} running)` : ""}`;
  for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (card.querySelectorAll("[data-scale]"))) {
    const to = s.replicas + Number(b.dataset.scale);
    b.disabled = !state.actionsEnabled || autoscaled || to < 0;
    b.setAttribute("aria-label", `Scale ${s.name} to ${Math.max(0, to)} replicas`);
    b.dataset.to = String(to);
  }
  /** @type {HTMLElement} */ (card.querySelector("[data-autoscale]")).textContent = autoscaled
    ? `autoscaled ${s.autoscaling?.minReplicas}–${s.autoscaling?.maxReplicas}`
    : state.actionsEnabled
      ? ""
      : "read-only dashboard";
  const styles = /** @type {HTMLElement} */ (card.querySelector(".styles"));
  styles.replaceChildren(
    ...(s.styles.length === 0
      ? [h("li", {}, "no styles")]
      : s.styles.map((name) => {
          const loaded = s.loadedStyles.includes(name);
          return h(
            "li",
            { class: loaded ? "loaded" : "", title: loaded ? "loaded" : "loading" },
            `${name}${loaded ? " ✓" : " …"}`,
          );
        })),
  );
  const select = /** @type {HTMLSelectElement} */ (card.querySelector("select"));
  const names = s.styles.join(",");
  if (select.dataset.names !== names) {
    const keep = select.value;
    select.replaceChildren(...s.styles.map((n) => h("option", { value: n }, n)));
    if (s.styles.includes(keep)) select.value = keep;
    select.dataset.names = names;
  }
  return card;
}

function renderServers() {
  const box = $("servers");
  const items = [...state.servers.values()].sort((a, b) => a.key.localeCompare(b.key));
  $("servers-empty").hidden = items.length > 0;
  const cards = items.map(serverCard);
  for (const el of [...box.children]) if (!cards.includes(/** @type {HTMLElement} */ (el))) el.remove();
  cards.forEach((c, i) => {
    if (box.children[i] !== c) box.insertBefore(c, box.children[i] ?? null);
  });
}

/** @param {string} key @param {number} delta */
async function scale(key, delta) {
  const s = state.servers.get(key);
  if (!s) return;
  const replicas = Math.max(0, s.replicas + delta);
  try {
    await act("POST", `/api/servers/${apiPath(key)}/scale`, { replicas });
    toast(`Scaling ${s.name} to ${replicas}`);
  } catch {
    /* toast shown */
  }
}

/**
 * @param {string} key @param {HTMLSelectElement} select @param {HTMLInputElement} file
 * @param {HTMLElement} result @param {HTMLElement} form
 */
async function tryIt(key, select, file, result, form) {
  const photo = file.files?.[0];
  if (!photo || !select.value) return;
  const button = /** @type {HTMLButtonElement} */ (form.querySelector("button[type=submit]"));
  button.disabled = true;
  result.replaceChildren(h("p", { class: "muted" }, "Stylizing…"));
  try {
    const res = await fetch(
      `/api/servers/${apiPath(key)}/styles/${encodeURIComponent(select.value)}/stylize`,
      {
        method: "POST",
        headers: { "content-type": photo.type || "image/jpeg" },
        body: photo,
        credentials: "omit",
      },
    );
    if (!res.ok) {
      const data = await res.json().catch(() => ({}));
      throw new Error(`${res.status}: ${data.error?.message ?? res.statusText}`);
    }
    const out = URL.createObjectURL(await res.blob());
    const input = URL.createObjectURL(photo);
    result.replaceChildren(
      h("figure", {}, h("img", { src: input, alt: "Your photo" }), h("figcaption", {}, "Photo")),
      h(
        "figure",
        {},
        h("img", { src: out, alt: `Your photo in the style ${select.value}`, "data-result": "" }),
        h("figcaption", {}, select.value),
      ),
    );
  } catch (err) {
    result.replaceChildren(
      h("p", { role: "alert" }, `Failed: ${err instanceof Error ? err.message : String(err)}`),
    );
  } finally {
    button.disabled = false;
  }
}

// ---- training actions -----------------------------------------------------------

$("suspend-button").addEventListener("click", async () => {
  const t = state.selected ? state.trainings.get(state.selected) : undefined;
  if (!t) return;
  try {
    await act("POST", `/api/trainings/${apiPath(t.key)}/suspend`, { suspend: !t.suspend });
    toast(`${t.suspend ? "Resuming" : "Suspending"} ${t.name}`);
  } catch {
    /* toast shown */
  }
});
$("delete-button").addEventListener("click", async () => {
  const t = state.selected ? state.trainings.get(state.selected) : undefined;
  if (!t) return;
  if (
    !confirm(
      `Delete StyleTraining ${t.namespace}/${t.name}? Its pods are removed; checkpoints in storage are kept.`,
    )
  )
    return;
  try {
    await act("DELETE", `/api/trainings/${apiPath(t.key)}`);
    toast(`Deleting ${t.name}`);
  } catch {
    /* toast shown */
  }
});

// ---- token ----------------------------------------------------------------------

const dialog = /** @type {HTMLDialogElement} */ ($("token-dialog"));
function openTokenDialog() {
  if (!dialog.open) dialog.showModal();
}
function renderTokenButton() {
  $("token-button").textContent = sessionStorage.getItem(TOKEN_KEY) ? "Token set ✓" : "Set token";
  $("token-button").hidden = !state.actionsEnabled;
}
$("token-button").addEventListener("click", openTokenDialog);
$("token-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = /** @type {HTMLInputElement} */ ($("token-input"));
  sessionStorage.setItem(TOKEN_KEY, input.value.trim());
  input.value = "";
  dialog.close();
  renderTokenButton();
  toast("Token saved for this tab");
});
$("token-forget").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  dialog.close();
  renderTokenButton();
});
$("token-cancel").addEventListener("click", () => dialog.close());

// ---- live stream ----------------------------------------------------------------

/** @param {string} msg @param {boolean} live */
function connection(msg, live) {
  const c = $("conn");
  c.textContent = msg;
  c.classList.toggle("live", live);
}

function connect() {
  const es = new EventSource("/api/stream");
  es.addEventListener("open", () => connection("Live", true));
  es.addEventListener("error", async () => {
    connection("Reconnecting…", false);
    // Say why when the operator refuses (a standby replica answers 503).
    const res = await fetch("/api/state").catch(() => null);
    const banner = $("banner");
    if (res && !res.ok) {
      const data = await res.json().catch(() => ({}));
      banner.textContent = data.error?.message ?? `The operator answered ${res.status}`;
      banner.hidden = false;
    }
  });
  es.addEventListener("snapshot", (e) => {
    const data = JSON.parse(/** @type {MessageEvent} */ (e).data);
    $("banner").hidden = true;
    state.actionsEnabled = data.actions.enabled;
    state.trainings = new Map(data.trainings.map((/** @type {Training} */ t) => [t.key, t]));
    state.servers = new Map(data.servers.map((/** @type {Server} */ s) => [s.key, s]));
    renderTokenButton();
    renderTrainings();
    renderServers();
    // After a reconnect the curve may have missed points: fetch it whole.
    if (state.selected && state.trainings.has(state.selected)) void select(state.selected);
    else if (!state.selected && state.trainings.size > 0 && matchMedia("(min-width: 960px)").matches)
      // A wide screen has room for the detail: show the first training rather than an empty column.
      void select([...state.trainings.keys()].sort()[0] ?? null);
    else renderDetail();
  });
  es.addEventListener("training", (e) => {
    /** @type {Training} */
    const t = JSON.parse(/** @type {MessageEvent} */ (e).data);
    state.trainings.set(t.key, t);
    renderTrainings();
    if (t.key === state.selected) renderDetail();
  });
  es.addEventListener("training-deleted", (e) => {
    const { key } = JSON.parse(/** @type {MessageEvent} */ (e).data);
    state.trainings.delete(key);
    if (state.selected === key) void select(null);
    renderTrainings();
  });
  es.addEventListener("progress", (e) => {
    const { key, points } = JSON.parse(/** @type {MessageEvent} */ (e).data);
    if (key !== state.selected) return;
    mergePoints(points);
    renderCharts();
  });
  es.addEventListener("server", (e) => {
    /** @type {Server} */
    const s = JSON.parse(/** @type {MessageEvent} */ (e).data);
    state.servers.set(s.key, s);
    renderServers();
  });
  es.addEventListener("server-deleted", (e) => {
    const { key } = JSON.parse(/** @type {MessageEvent} */ (e).data);
    state.servers.delete(key);
    renderServers();
  });
}

/** The selected training lives in the URL, so a reload or a shared link opens it again. */
function keyFromHash() {
  const m = /^#\/trainings\/([^/]+\/[^/]+)$/.exec(location.hash);
  return m ? decodeURIComponent(m[1] ?? "") : null;
}
window.addEventListener("hashchange", () => {
  const key = keyFromHash();
  if (key !== state.selected) void select(key);
});
state.selected = keyFromHash();
renderCharts();
connect();
// Relative times ("2m ago") stay true without a server push.
setInterval(() => state.selected && renderDetail(), 30_000);
