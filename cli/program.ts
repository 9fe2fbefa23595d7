// The stylekube command line as one commander program. Each command lives in
// its own file and registers itself here; commander gives every command
// --help, the program --version, and turns unknown flags and extra arguments
// into usage errors.
import { Command } from "commander";
import { packageVersion } from "../common/package-version.js";
import { registerDatasetCommand } from "./commands/dataset.js";
import { registerDoctorCommand } from "./commands/doctor.js";
import { registerExportCommand } from "./commands/export.js";
import { registerImageToolCommands } from "./commands/image-tools.js";
import { registerProcessCommands } from "./commands/processes.js";
import { registerTrainCommand } from "./commands/train.js";
import { registerValidateCommand } from "./commands/validate.js";
import { registerWeightsCommand } from "./commands/weights.js";

/** Exit code of a usage error (bad flag, missing argument), as POSIX tools use. */
export const USAGE_EXIT_CODE = 2;

export function buildProgram(): Command {
  const program = new Command("stylekube")
    .description("Train and serve fast style-transfer networks (Johnson et al. 2016) on Kubernetes.")
    .version(packageVersion(), "-V, --version", "print the version")
    .showHelpAfterError("(run with --help for usage)")
    .addHelpText("after", "\nDocs: docs/ in the repository.")
    // Throw instead of exiting, so main() owns the exit code; subcommands inherit this.
    .exitOverride();
  program
    .command("version")
    .description("print the version")
    .action(() => console.log(packageVersion()));
  program
    .command("crds")
    .description("print the CustomResourceDefinitions (YAML), e.g. for kubectl apply -f -")
    .action(async () => {
      const { renderCrdsYaml } = await import("../common/api/crds.js");
      process.stdout.write(renderCrdsYaml());
    });
  registerValidateCommand(program);
  registerDatasetCommand(program);
  registerTrainCommand(program);
  registerExportCommand(program);
  registerImageToolCommands(program);
  registerWeightsCommand(program);
  registerProcessCommands(program);
  registerDoctorCommand(program);
  return program;
}
