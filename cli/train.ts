// `stylekube train -f spec.yaml --local [--workers N] [--nats URL]`.
import { parseArgs } from "node:util";
import { runLocal } from "../trainer/local-runner.js";

export async function runTrainCommand(args: string[]): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      filename: { type: "string", short: "f" },
      local: { type: "boolean", default: false },
      workers: { type: "string" },
      nats: { type: "string" },
      "env-file": { type: "string" },
    },
    strict: true,
  });
  if (!values.filename) {
    console.error("stylekube train: missing -f FILE (a StyleTraining manifest)");
    return 2;
  }
  if (!values.local) {
    console.error(
      "stylekube train: only --local is supported here; on a cluster, `kubectl apply -f` the StyleTraining instead",
    );
    return 2;
  }
  const workers = values.workers === undefined ? undefined : Number(values.workers);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 1 || workers > 64)) {
    console.error(`stylekube train: --workers must be a whole number from 1 to 64, got ${values.workers}`);
    return 2;
  }
  try {
    const result = await runLocal({
      file: values.filename,
      ...(values.nats ? { natsUrl: values.nats } : {}),
      ...(workers ? { workers } : {}),
      ...(values["env-file"] ? { envFile: values["env-file"] } : {}),
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
