// `stylekube train -f spec.yaml --local [--workers N] [--nats URL] [--env-file F]`.
import type { Command } from "commander";
import { wholeNumber } from "../options.js";

interface TrainOptions {
  filename: string;
  local: boolean;
  workers?: number;
  nats?: string;
  envFile?: string;
}

export function registerTrainCommand(program: Command): void {
  program
    .command("train")
    .description("run a StyleTraining on this machine with spec.workers worker processes over NATS")
    .requiredOption("-f, --filename <file>", "a StyleTraining manifest (YAML)")
    .option("--local", "run here (on a cluster, kubectl apply the StyleTraining instead)", false)
    .option("--workers <n>", "worker processes, 1-64 (default: spec.workers)", wholeNumber(1, 64))
    .option("--nats <url>", "an existing NATS server (default: start one)")
    .option("--env-file <file>", "endpoints file of the test environment (.stylekube/env.json)")
    .action(async (options: TrainOptions) => {
      process.exitCode = await train(options);
    });
}

async function train(options: TrainOptions): Promise<number> {
  if (!options.local) {
    console.error(
      "stylekube train: only --local is supported here; on a cluster, `kubectl apply -f` the StyleTraining instead",
    );
    return 2;
  }
  try {
    // Loaded here so that images without trainer/ (the model server) can still run the CLI.
    const { runLocal } = await import("../../trainer/local-runner.js");
    const result = await runLocal({
      file: options.filename,
      ...(options.nats ? { natsUrl: options.nats } : {}),
      ...(options.workers ? { workers: options.workers } : {}),
      ...(options.envFile ? { envFile: options.envFile } : {}),
      onProgress: (line) => console.error(line),
    });
    if (result.ok) {
      console.log(`model: ${result.modelURI} (after ${result.attempts} attempt(s))`);
      return 0;
    }
    console.error(`training failed: ${result.error}`);
    return 1;
  } catch (err) {
    console.error(`stylekube train: ${(err as Error).message}`);
    return 1;
  }
}
