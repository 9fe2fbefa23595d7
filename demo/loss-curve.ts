// The loss curve of a training as a small SVG line chart (rendered to PNG by
// sharp): the λ-weighted terms and the total per step, on a log scale, read
// from the progress lines `stylekube train --local` prints.

export interface LossPoint {
  step: number;
  total: number;
  content: number;
  style: number;
  tv: number;
}

const PROGRESS =
  /step (\d+)\/\d+ .*?loss ([\d.e+-]+) = content ([\d.e+-]+) \+ style ([\d.e+-]+) \+ tv ([\d.e+-]+)/;

/** Every progress line's step and λ-weighted loss terms; a later attempt's line for a step replaces an earlier one. */
export function parseProgressLog(text: string): LossPoint[] {
  const byStep = new Map<number, LossPoint>();
  for (const line of text.split("\n")) {
    const m = PROGRESS.exec(line);
    if (!m) continue;
    const [step, total, content, style, tv] = m.slice(1).map(Number) as [
      number,
      number,
      number,
      number,
      number,
    ];
    byStep.set(step, { step, total, content, style, tv });
  }
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

const SERIES = [
  { key: "total", colour: "#000000" },
  { key: "style", colour: "#1f5fbf" },
  { key: "content", colour: "#c0392b" },
  { key: "tv", colour: "#27ae60" },
] as const;

/** A 640×360 chart: log10 loss against step, one polyline per term, with a legend. */
export function lossCurveSvg(points: readonly LossPoint[], title: string): string {
  const W = 640;
  const H = 360;
  const left = 70;
  const right = 20;
  const top = 30;
  const bottom = 40;
  if (points.length === 0) throw new Error("no progress lines with losses in the log");
  const maxStep = Math.max(...points.map((p) => p.step));
  const values = points.flatMap((p) => SERIES.map((s) => p[s.key])).filter((v) => v > 0);
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  const x = (step: number): number => left + (step / Math.max(1, maxStep)) * (W - left - right);
  const y = (v: number): number =>
    top + ((hi - Math.log10(Math.max(v, 10 ** lo))) / Math.max(1, hi - lo)) * (H - top - bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${W / 2}" y="18" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (let e = lo; e <= hi; e++) {
    parts.push(
      `<line x1="${left}" x2="${W - right}" y1="${y(10 ** e)}" y2="${y(10 ** e)}" stroke="#dddddd"/>`,
      `<text x="${left - 6}" y="${y(10 ** e) + 4}" text-anchor="end">1e${e}</text>`,
    );
  }
  const ticks = 5;
  for (let i = 0; i <= ticks; i++) {
    const step = Math.round((maxStep * i) / ticks);
    parts.push(`<text x="${x(step)}" y="${H - bottom + 16}" text-anchor="middle">${step}</text>`);
  }
  parts.push(`<text x="${(left + W - right) / 2}" y="${H - 6}" text-anchor="middle">step</text>`);
  for (const [i, s] of SERIES.entries()) {
    const path = points
      .filter((p) => p[s.key] > 0)
      .map((p) => `${x(p.step).toFixed(1)},${y(p[s.key]).toFixed(1)}`)
      .join(" ");
    parts.push(`<polyline points="${path}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>`);
    const ly = top + 10 + i * 16;
    parts.push(
      `<line x1="${W - right - 110}" x2="${W - right - 90}" y1="${ly}" y2="${ly}" stroke="${s.colour}" stroke-width="2"/>`,
      `<text x="${W - right - 84}" y="${ly + 4}">${s.key === "total" ? "total" : `λ·${s.key}`}</text>`,
    );
  }
  parts.push(
    `<rect x="${left}" y="${top}" width="${W - left - right}" height="${H - top - bottom}" fill="none" stroke="#888888"/>`,
    "</svg>",
  );
  return parts.join("\n");
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;" })[c]!);
}
