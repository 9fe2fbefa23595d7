// `stylekube dataset pack|info|verify`: the commands' flags. The work is in
// ../dataset.ts, loaded only when a command runs, so the CLI starts without the
// packer or the AWS SDK (and in images that lack trainer/). The defaults in the
// help are the packer's (trainer/data/pack.ts); a unit test keeps them equal.
import type { Command } from "commander";
import type { PackOptions } from "../dataset.js";
import { wholeNumber } from "../options.js";

export function registerDatasetCommand(program: Command): void {
  const dataset = program
    .command("dataset")
    .description("pack photos into a sharded dataset, show or verify one")
    .addHelpText(
      "after",
      "\n<uri>: s3://bucket/prefix/, file:///abs/path/ or a local path (S3 settings from STYLEKUBE_S3_*).",
    );
  dataset
    .command("pack")
    .description(
      "resize and centre-crop photos into tar shards and an index (an interrupted pack resumes: run it again)",
    )
    .argument("<input>", "a folder or a .zip of photos")
    .argument("<uri>", "where the shards and index.json go")
    .option("--size <n>", `side of the square images (default 256)`, wholeNumber(1))
    .option("--shard-size <n>", `input files per shard (default 1000)`, wholeNumber(1))
    .option("--quality <n>", `JPEG quality 1-100 (default 90)`, wholeNumber(1, 100))
    .option("--concurrency <n>", "images decoded at once (default: CPU count)", wholeNumber(1))
    .option("--force", "rebuild every shard even if an earlier run finished some", false)
    .option("--no-progress", "no progress output")
    .action(async (input: string, target: string, options: PackOptions) => {
      const { pack, withStore } = await import("../dataset.js");
      process.exitCode = await withStore((store) => pack(input, target, options, store));
    });
  dataset
    .command("info")
    .description("print the index summary")
    .argument("<uri>", "the dataset prefix")
    .action(async (target: string) => {
      const { info, withStore } = await import("../dataset.js");
      process.exitCode = await withStore((store) => info(target, store, false));
    });
  dataset
    .command("verify")
    .description("check every shard's size and sha256 against the index")
    .argument("<uri>", "the dataset prefix")
    .action(async (target: string) => {
      const { info, withStore } = await import("../dataset.js");
      process.exitCode = await withStore((store) => info(target, store, true));
    });
}
