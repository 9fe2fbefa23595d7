// `stylekube doctor`: which compute engines and ONNX Runtime providers work
// on this machine and, where one does not, why and what to install. A table
// for people; --json one object (DoctorReportSchema) for scripts.
import type { Command } from "commander";

export function registerDoctorCommand(program: Command): void {
  program
    .command("doctor")
    .description(
      "which compute engines and ONNX Runtime providers (cpu, webgpu, cuda) work here, and what to install where one does not",
    )
    .option(
      "--json",
      "print one JSON object (trainer/engine/doctor.ts, DoctorReportSchema) instead of a table",
      false,
    )
    .action(async (options: { json: boolean }) => {
      // Loaded when run: the checks load ONNX Runtime and the tfjs engines.
      const { doctorReport } = await import("../../trainer/engine/doctor.js");
      const report = await doctorReport();
      if (options.json) {
        process.stdout.write(`${JSON.stringify(report)}\n`);
        return;
      }
      const { formatDoctorTable } = await import("../doctor-table.js");
      process.stdout.write(formatDoctorTable(report, Math.max(80, process.stdout.columns ?? 100)));
    });
}
