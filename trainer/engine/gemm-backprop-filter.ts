import * as tf from "@tensorflow/tfjs-core";
import { type BackpropFilterAttrs, nhwcConvInfo } from "./conv-attrs.js";

/**
 * Conv2DBackpropFilter as GEMMs on any backend's own kernels.
 *
 *   dW[(kh, kw, ci), co] = Σₙ cols[n, (kh, kw, ci)] · dy[n, co]
 *
 * with n running over every output position of the batch and `cols` the
 * im2col matrix: for each filter tap, the strided slice of the (padded)
 * input that the tap multiplies. The taps are cut with the backend's
 * StridedSlice, put side by side with Concat, and the product goes through
 * its BatchMatMul (transposed A), so the work lands in the backend's tiled
 * or split-K matrix programs.
 *
 * Why: the webgpu backend's stock Conv2DBackpropFilter (tfjs 4.22) runs one
 * GPU thread per filter element, each looping over every output position of
 * the batch: for the transformation network's 9×9 convs at 256×256 batch 4
 * that is 7,776 threads each summing 262,144 products, a few hundred
 * resident warps on a GPU built for tens of thousands.
 *
 * The product is tall and thin: a few hundred rows and columns of output,
 * a reduction over up to a million positions, which a tiled GEMM spreads
 * over only a handful of workgroups. So the reduction is split: the n
 * positions are cut into S slices, one batched BatchMatMul gives S partial
 * products (S times the workgroups) and a Sum adds them (split-K without
 * atomics). Taps are processed in groups whose slices and im2col block
 * together stay under COLS_BUDGET_FLOATS, so memory is bounded whatever the
 * layer. Only NHWC
 * float32 with dilation 1 (what tfjs's conv2d gradient sends); anything
 * else goes to the stock kernel.
 */

type KernelFunc = tf.KernelConfig["kernelFunc"];
type KernelArgs = Parameters<KernelFunc>[0];

interface DisposingBackend {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/** Default bound on one im2col block, in floats (128 MiB). */
export const COLS_BUDGET_FLOATS = 1 << 25;

export interface GemmBackpropFilterOptions {
  /** The backend whose kernels are composed (and that runs this kernel). */
  backendName: string;
  /** Used for what this implementation does not cover. */
  fallback?: KernelFunc;
  /** Bound on one im2col block in floats (tests make it small to exercise grouping). */
  colsBudgetFloats?: number;
  /**
   * Split the reduction until the product has at least this many 32×32
   * output tiles (default TARGET_TILES; 1 turns splitting off).
   */
  targetTiles?: number;
}

/** Enough 32×32 tiles to fill a large GPU a few times over (132 SMs on an H100/H200). */
export const TARGET_TILES = 1024;
/** Each slice of a split reduction keeps at least this many positions. */
const MIN_SLICE = 256;

/** S: a power of two dividing n, the smallest giving S·tiles ≥ target with slices of ≥ MIN_SLICE positions. */
export function reductionSplits(n: number, rows: number, cols: number, targetTiles: number): number {
  const tiles = Math.ceil(rows / 32) * Math.ceil(cols / 32);
  let s = 1;
  while (s * tiles < targetTiles && n % (2 * s) === 0 && n / (2 * s) >= MIN_SLICE) s *= 2;
  return s;
}

/** A Conv2DBackpropFilter kernelFunc for `backendName` built from its StridedSlice, Concat and BatchMatMul. */
export function gemmConv2DBackpropFilter(options: GemmBackpropFilterOptions): KernelFunc {
  const { backendName, fallback } = options;
  const budget = options.colsBudgetFloats ?? COLS_BUDGET_FLOATS;
  const targetTiles = options.targetTiles ?? TARGET_TILES;

  return (args: KernelArgs): tf.TensorInfo => {
    const x = args.inputs["x"];
    const dy = args.inputs["dy"];
    const a = args.attrs as unknown as BackpropFilterAttrs;
    if (x === undefined || dy === undefined) throw new Error("Conv2DBackpropFilter needs x and dy");
    if (a.dataFormat !== "NHWC" || x.dtype !== "float32" || dy.dtype !== "float32") {
      if (fallback === undefined) {
        throw new Error(`Conv2DBackpropFilter (${backendName}): only NHWC float32 is implemented`);
      }
      return fallback(args) as tf.TensorInfo;
    }
    const backend = args.backend as unknown as DisposingBackend;
    // Concat takes its inputs as an array (as tf.concat passes them); the others by name.
    const run = (
      name: string,
      inputs: Record<string, tf.TensorInfo> | tf.TensorInfo[],
      attrs: object = {},
    ): tf.TensorInfo => {
      const kernel = tf.getKernel(name, backendName);
      if (kernel === undefined) throw new Error(`${backendName} kernel ${name} is not registered`);
      return kernel.kernelFunc({
        inputs: inputs as tf.NamedTensorInfoMap,
        attrs: attrs as tf.NamedAttrMap,
        backend: args.backend,
      }) as tf.TensorInfo;
    };
    // Every intermediate is held here until freed, so a failing kernel
    // (out of GPU memory, say) leaks nothing.
    const live = new Set<tf.TensorInfo>();
    const hold = (t: tf.TensorInfo): tf.TensorInfo => {
      live.add(t);
      return t;
    };
    const free = (t: tf.TensorInfo): void => {
      live.delete(t);
      backend.disposeData(t.dataId);
    };

    const info = nhwcConvInfo(x.shape, a.filterShape, a);
    const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
    const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
    const { top, left } = info.padInfo;
    // The padded input must reach the last tap of the last output position.
    const bottom = Math.max(0, (outHeight - 1) * sh + fh - top - inHeight);
    const right = Math.max(0, (outWidth - 1) * sw + fw - left - inWidth);
    const padded =
      top > 0 || left > 0 || bottom > 0 || right > 0
        ? hold(
            run(
              "PadV2",
              { x },
              {
                paddings: [
                  [0, 0],
                  [top, bottom],
                  [left, right],
                  [0, 0],
                ],
                constantValue: 0,
              },
            ),
          )
        : undefined;
    const xp = padded ?? x;

    const n = batchSize * outHeight * outWidth;
    const taps = fh * fw;
    // A group's tap slices and their concatenation exist at once: half the budget each.
    const perGroup = Math.max(1, Math.min(taps, Math.floor(budget / 2 / (n * inChannels))));
    const tap = (t: number): tf.TensorInfo => {
      const kh = Math.floor(t / fw);
      const kw = t % fw;
      return hold(
        run(
          "StridedSlice",
          { x: xp },
          {
            begin: [0, kh, kw, 0],
            end: [batchSize, kh + (outHeight - 1) * sh + 1, kw + (outWidth - 1) * sw + 1, inChannels],
            strides: [1, sh, sw, 1],
            beginMask: 0,
            endMask: 0,
            ellipsisMask: 0,
            newAxisMask: 0,
            shrinkAxisMask: 0,
          },
        ),
      );
    };

    const parts: tf.TensorInfo[] = [];
    try {
      for (let first = 0; first < taps; first += perGroup) {
        const count = Math.min(perGroup, taps - first);
        const slices = Array.from({ length: count }, (_, i) => tap(first + i));
        let block: tf.TensorInfo;
        if (slices.length === 1) {
          block = slices[0] as tf.TensorInfo;
        } else {
          block = hold(run("Concat", slices, { axis: 3 }));
          slices.forEach(free);
        }
        const m = count * inChannels;
        const splits = reductionSplits(n, m, outChannels, targetTiles);
        const cols = hold(run("Reshape", { x: block }, { shape: [splits, n / splits, m] }));
        free(block);
        const dys = hold(run("Reshape", { x: dy }, { shape: [splits, n / splits, outChannels] }));
        // [S, count·Ci, Co]: each slice's colsᵀ · dy
        const partial = hold(
          run("BatchMatMul", { a: cols, b: dys }, { transposeA: true, transposeB: false }),
        );
        free(cols);
        free(dys);
        if (splits === 1) {
          parts.push(partial);
        } else {
          parts.push(hold(run("Sum", { x: partial }, { axis: [0], keepDims: true })));
          free(partial);
        }
      }
      const dw = parts.length === 1 ? (parts[0] as tf.TensorInfo) : hold(run("Concat", parts, { axis: 1 }));
      // The result is the caller's: everything still held is freed below.
      return run("Reshape", { x: dw }, { shape: [fh, fw, inChannels, outChannels] });
    } finally {
      for (const t of [...live]) free(t);
    }
  };
}
