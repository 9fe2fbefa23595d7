// `stylekube stylize` and `stylekube loss`, the two tools of the paper's
// reference code. They parse their own flags (strict, with --help) in
// ../stylize.ts and ../loss.ts, loaded only when run; commander hands them
// their arguments untouched.
import type { Command } from "commander";

export function registerImageToolCommands(program: Command): void {
  program
    .command("stylize")
    .description(
      "stylise photos with a trained model (-m), or by Gatys et al.'s optimisation (--optimize); --help for flags",
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[args...]")
    .action(async (args: string[]) => {
      const { runStylizeCommand } = await import("../stylize.js");
      process.exitCode = await runStylizeCommand(args);
    });
  program
    .command("loss")
    .description(
      "the paper's loss of an image against a content photo and a style image, as one JSON line; --help for flags",
    )
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument("[args...]")
    .action(async (args: string[]) => {
      const { runLossCommand } = await import("../loss.js");
      process.exitCode = await runLossCommand(args);
    });
}
