// The long-running processes the images start: the operator, the model server
// and one training worker. They take their configuration from the environment
// (the env contract and docs/operations.md), so they have no flags of their own.
import type { Command } from "commander";

export function registerProcessCommands(program: Command): void {
  program
    .command("controller")
    .description(
      "run the operator: reconciles StyleTrainings and StyleServers, serves the dashboard (config from env)",
    )
    .action(async () => {
      const { runController } = await import("../../controller/main.js");
      process.exitCode = await runController();
    });
  program
    .command("serve")
    .description("run the model server: POST /v1/styles/{name}:stylize (config from env)")
    .action(async () => {
      const { serveMain } = await import("../../serving/main.js");
      process.exitCode = await serveMain();
    });
  program
    .command("worker")
    .description("run one training worker (env contract; started by the operator or train --local)")
    .action(async () => {
      const [{ workerMain }, { openDatasetBatches }] = await Promise.all([
        import("../../trainer/worker.js"),
        import("../../trainer/data/reader.js"),
      ]);
      process.exitCode = await workerMain({ openBatches: openDatasetBatches });
    });
}
