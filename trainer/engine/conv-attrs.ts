import * as tf from "@tensorflow/tfjs-core";

/**
 * The attributes tfjs sends with its convolution gradient kernels, and the
 * geometry every backend's replacement kernel derives from them. Only NHWC
 * and dilation 1: what tfjs's conv2d gradients and conv2dTranspose send.
 */
export interface ConvAttrs {
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dataFormat: "NHWC" | "NCHW";
  dimRoundingMode?: "floor" | "round" | "ceil";
}

export interface BackpropFilterAttrs extends ConvAttrs {
  filterShape: [number, number, number, number];
}

export interface BackpropInputAttrs extends ConvAttrs {
  inputShape: [number, number, number, number];
}

/** Output size, padding and strides of an NHWC, dilation-1 convolution. */
export function nhwcConvInfo(
  xShape: readonly number[],
  filterShape: [number, number, number, number],
  a: ConvAttrs,
): tf.backend_util.Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    "channelsLast",
  );
}
