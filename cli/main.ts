// stylekube command-line entry point: runs the commander program and owns the
// exit code (0 done, 1 failed, 2 usage error).
import { CommanderError } from "commander";
import { buildProgram, USAGE_EXIT_CODE } from "./program.js";

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    // commander has already printed the message (or the help/version asked for).
    process.exitCode = err.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
  } else {
    // Commands report their own errors; this is for what they did not expect.
    console.error(`stylekube ${process.argv[2] ?? ""}: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
