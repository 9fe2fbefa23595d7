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
    .addHelpText(
      "after",
      `
Configured by environment variables (docs/operations.md, "Model server"); the safe ones by default:
  STYLEKUBE_ADMIN_TOKEN                  the admin API (PUT/DELETE /v1/styles/{name}) is on only with it:
                                         callers send Authorization: Bearer <token>; off when unset
  STYLEKUBE_HEADERS_TIMEOUT_MS           headers must arrive within it (10000); else 408
  STYLEKUBE_BODY_TIMEOUT_MS              the body must arrive within it (120000; 0: no limit); else 408
  STYLEKUBE_MIN_UPLOAD_BYTES_PER_SECOND  slowest upload kept (8192, over STYLEKUBE_MIN_UPLOAD_WINDOW_MS
                                         = 10000; 0: no minimum); slower: 408 and the connection closed
  STYLEKUBE_MAX_BODY_BYTES               largest image body (20 MiB)
  STYLEKUBE_MAX_INFLIGHT_BODY_BYTES      all bodies being received at once (64 MiB); beyond it: 429
  STYLEKUBE_CONCURRENCY, STYLEKUBE_QUEUE_SIZE
                                         inferences at once (1) and waiting (4), taken once a body has
                                         arrived; beyond them: 429`,
    )
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
