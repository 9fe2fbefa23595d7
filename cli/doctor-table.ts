// `stylekube doctor`'s report as a table for people: one row per engine or
// ONNX Runtime provider, the reason of a failure wrapped under its row, and
// the engine the CLI tools and engine auto use here.
import type { DoctorReport } from "../trainer/engine/doctor.js";
import { engineLabel } from "../trainer/engine/doctor.js";

/** Splits text into lines of at most `width` characters, at spaces (a longer word gets a line of its own). */
export function wrapText(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line === "" ? word : `${line} ${word}`;
    }
  }
  if (line !== "") lines.push(line);
  return lines.length > 0 ? lines : [""];
}

/** The report as aligned columns ENGINE, STATUS, DETAIL, `width` characters wide at most (wider for a long word). */
export function formatDoctorTable(report: DoctorReport, width = 100): string {
  const rows = report.checks.map((c) => ({ name: engineLabel(c), status: c.status, detail: c.detail }));
  const nameWidth = Math.max("ENGINE".length, ...rows.map((r) => r.name.length));
  const statusWidth = Math.max("STATUS".length, ...rows.map((r) => r.status.length));
  const indent = nameWidth + statusWidth + 4;
  const detailWidth = Math.max(30, width - indent);
  const row = (name: string, status: string, detail: string[]): string[] =>
    detail.map((line, i) =>
      i === 0
        ? `${name.padEnd(nameWidth)}  ${status.padEnd(statusWidth)}  ${line}`.trimEnd()
        : `${" ".repeat(indent)}${line}`,
    );
  const lines = [
    ...row("ENGINE", "STATUS", ["DETAIL"]),
    ...rows.flatMap((r) => row(r.name, r.status, wrapText(r.detail, detailWidth))),
    "",
    `Fastest that works here: ${engineLabel(report.fastest)} — what a training's engine auto picks and what ` +
      "stylekube stylize and loss use unless given --engine.",
  ];
  return `${lines.join("\n")}\n`;
}
