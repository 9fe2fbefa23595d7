// stylekube command-line entry point. Subcommands are added by the areas that
// own them (dataset, train, controller, serve); this file only dispatches.
import { packageVersion } from "../common/package-version.js";

const USAGE = `stylekube — train and serve fast style-transfer networks on Kubernetes

Usage:
  stylekube dataset pack <folder|zip> <uri> [--size 256] [--shard-size N]
                            resize, centre-crop and shard photos to s3:// or file://
  stylekube dataset info|verify <uri>
  stylekube train -f spec.yaml --local [--workers N] [--nats URL]
                            run a StyleTraining on this machine with N worker processes
  stylekube stylize -m <model> in.jpg -o out.jpg
                            stylise a photo with a trained network (--optimize: Gatys et al.'s method)
  stylekube loss --content c.jpg --style s.jpg image.jpg
                            the paper's loss of an image, as one JSON line
  stylekube weights pull vgg16 [--from F] [--to URI]
                            fetch, verify and cache ImageNet VGG-16 (the loss network); prints its path
  stylekube worker          one training worker (env contract; started by the operator or --local)
  stylekube serve           the model server (POST /v1/styles/{name}:stylize; config from env)
  stylekube controller      run the operator (watches StyleTrainings; config from env, see docs/)
  stylekube crds            print the CustomResourceDefinitions (YAML)
  stylekube validate -f F   validate a StyleTraining or StyleServer manifest
  stylekube version         print the version

Docs: docs/ in the repository.`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case "crds": {
      const { renderCrdsYaml } = await import("../common/api/crds.js");
      process.stdout.write(renderCrdsYaml());
      return 0;
    }
    case "validate": {
      const { validateManifestFile } = await import("./validate.js");
      return validateManifestFile(rest);
    }
    case "controller": {
      const { runController } = await import("../controller/main.js");
      return runController();
    }
    case "dataset": {
      const { runDatasetCommand } = await import("./dataset.js");
      return runDatasetCommand(rest);
    }
    case "weights": {
      const { runWeightsCommand } = await import("./weights.js");
      return runWeightsCommand(rest);
    }
    case "worker": {
      const [{ workerMain }, { openDatasetBatches }] = await Promise.all([
        import("../trainer/worker.js"),
        import("../trainer/data/reader.js"),
      ]);
      return workerMain({ openBatches: openDatasetBatches });
    }
    case "serve": {
      const { serveMain } = await import("../serving/main.js");
      return serveMain();
    }
    case "train": {
      const { runTrainCommand } = await import("./train.js");
      return runTrainCommand(rest);
    }
    case "stylize": {
      const { runStylizeCommand } = await import("./stylize.js");
      return runStylizeCommand(rest);
    }
    case "loss": {
      const { runLossCommand } = await import("./loss.js");
      return runLossCommand(rest);
    }
    case "version": {
      console.log(packageVersion());
      return 0;
    }
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      console.error(`stylekube: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  // Commands report their own errors; this is for what they did not expect.
  console.error(`stylekube ${process.argv[2] ?? ""}: ${err instanceof Error ? err.message : String(err)}`);
  process.exitCode = 1;
}
