import * as tf from "@tensorflow/tfjs-core";
import { type BackpropFilterAttrs, type BackpropInputAttrs, nhwcConvInfo } from "./conv-attrs.js";
import { registerMirrorPadGrad } from "./mirror-pad-grad.js";

/**
 * Training kernels for @tensorflow/tfjs-backend-wasm (4.22), built from the
 * backend's own fast kernels.
 *
 * The stock wasm backend runs forward convolutions through XNNPACK (~40
 * GFLOP/s on one core here) but has no Conv2DBackpropFilter at all, and its
 * Conv2DBackpropInput is a scalar C++ loop (~3.6 GFLOP/s measured), which
 * would make the backward pass ten times slower than the forward. Both are
 * rewritten here as the two things XNNPACK does fast in this backend:
 *
 * - Conv2DBackpropFilter as one GEMM per group of filter taps:
 *   dWᵀ[co, (tap, ci)] = dyᵀ[co, n] · cols[n, (tap, ci)], with n running
 *   over every output position of the batch. dy is transposed once by the
 *   backend's Transpose; `cols` (im2col restricted to a few taps) is filled
 *   with plain memory copies on the wasm heap; the product goes through the
 *   backend's BatchMatMul, whose non-transposed batch-1 case is XNNPACK's
 *   GEMM (~34 GFLOP/s; its transposed and batched cases are scalar loops at
 *   ~3 GFLOP/s, hence the explicit transpose and one call per group).
 * - Conv2DBackpropInput as a forward Conv2D of dy with the flipped,
 *   channel-swapped filter. For stride s > 1 the sub-pixel form avoids
 *   inserting zeros into dy: one stride-1 conv with ⌈K/s⌉² taps produces all
 *   s² output phases as channels, which are then interleaved into dx
 *   (1.8× the ideal multiply-adds for K=3, s=2, instead of 4× with zero
 *   insertion).
 *
 * - MaxPoolGrad, corrected: the stock kernel (4.22) loses the gradient of
 *   every pooling window whose values are all negative (it routes one of
 *   them to the tensor's first element and drops the rest; the cpu backend
 *   is right). Pools after a ReLU never see such windows, but the kernel
 *   must be right for any input; this one is a plain loop on the heap.
 *
 * - Slice, contiguous case: the stock kernel reads its input through
 *   readSync, which copies the whole input off the heap first, so slicing
 *   62 parameters out of Adam's flat update vector copied 62 × 6.7 MB
 *   (≈120 ms a step); this one copies only the slice.
 *
 * The kernels call other kernels' kernelFuncs directly (not tf ops), so they
 * add nothing to the gradient tape or the engine's bookkeeping, and free
 * every intermediate themselves. Only NHWC float32 with dilation 1 (what
 * tfjs's conv gradients and conv2dTranspose send); anything else goes to the
 * stock kernel (Conv2DBackpropInput) or fails loudly (Conv2DBackpropFilter,
 * which has no stock kernel).
 */

type KernelFunc = tf.KernelConfig["kernelFunc"];
type KernelArgs = Parameters<KernelFunc>[0];

interface WasmTensorData {
  id: number;
  memoryOffset: number;
}

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use (not in its public typings). */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): WasmTensorData | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

/**
 * Upper bound on one im2col block, in floats (16 MiB). wasm32 has 4 GiB and a
 * 256×256 training step already holds ~2.3 GiB of activations; a bigger
 * block saves little (dy is packed once per call whatever the group count).
 */
const COLS_BUDGET_FLOATS = 1 << 22;
/** Below this many floats a hand loop beats copyWithin's call overhead. */
const SHORT_RUN = 24;

function asWasm(backend: unknown): WasmBackend {
  return backend as WasmBackend;
}

function offsetOf(backend: WasmBackend, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error("wasm kernel: tensor data not found on the wasm backend");
  // Heap offsets of float32 data are 4-byte aligned (malloc); unsigned shift: offsets reach 4 GiB.
  return d.memoryOffset >>> 2;
}

/** A fresh view: the wasm memory may have grown (and its buffer changed) on any allocation. */
function heap(backend: WasmBackend): Float32Array {
  return new Float32Array(backend.wasm.HEAPU8.buffer);
}

/** Calls another wasm kernel directly: no tape entry, no engine tracking; the caller frees the result. */
function runKernel(
  backend: WasmBackend,
  name: string,
  inputs: Record<string, tf.TensorInfo>,
  attrs: Record<string, unknown>,
): tf.TensorInfo {
  const k = tf.getKernel(name, "wasm");
  if (k === undefined) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc({
    inputs,
    attrs: attrs as tf.NamedAttrMap,
    backend: backend as unknown as tf.KernelBackend,
  }) as tf.TensorInfo;
}

function view(t: tf.TensorInfo, shape: number[]): tf.TensorInfo {
  return { dataId: t.dataId, shape, dtype: t.dtype };
}

function copy(h: Float32Array, dst: number, src: number, n: number): void {
  if (n < SHORT_RUN) {
    for (let i = 0; i < n; i++) h[dst + i] = h[src + i] as number;
  } else {
    h.copyWithin(dst, src, src + n);
  }
}

/**
 * dW[kh, kw, ci, co] = Σ_{b,oh,ow} x[b, oh·sh + kh − top, ow·sw + kw − left, ci] · dy[b, oh, ow, co]
 * (zero outside x), as GEMMs over groups of taps; see the module comment.
 *
 * Per group of taps: dW[(tap, ci), co] = colsᵀ[(tap, ci), n] · dy[n, co].
 * colsᵀ is filled from xᵀ = x transposed to [ci, b, h, w] (one Transpose),
 * where a row of output positions at one tap is a contiguous run of xᵀ (for
 * stride 1), so the fill is a few long memory copies. dy is the GEMM's
 * right operand in every group, and the backend caches XNNPACK's packed
 * copy of it by tensor id, so it is packed once per call, not per group;
 * the result rows of a group are already HWIO rows of dW.
 */
export function wasmConv2DBackpropFilter(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const x = args.inputs["x"];
  const dy = args.inputs["dy"];
  const a = args.attrs as unknown as BackpropFilterAttrs;
  if (x === undefined || dy === undefined) throw new Error("Conv2DBackpropFilter needs x and dy");
  if (a.dataFormat !== "NHWC" || x.dtype !== "float32" || dy.dtype !== "float32") {
    throw new Error(
      `wasm Conv2DBackpropFilter supports NHWC float32 only (got ${a.dataFormat}, ${x.dtype}, ${dy.dtype})`,
    );
  }
  const info = nhwcConvInfo(x.shape, a.filterShape, a);
  const { batchSize, inHeight, inWidth, inChannels: ci, outHeight, outWidth, outChannels: co } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const n = batchSize * outHeight * outWidth;
  const taps = fh * fw;

  // Taps per GEMM: as many as the memory budget allows (fewer, longer GEMMs).
  const group = Math.max(1, Math.min(taps, Math.floor(COLS_BUDGET_FLOATS / Math.max(1, n * ci))));

  const xT = runKernel(backend, "Transpose", { x }, { perm: [3, 0, 1, 2] });
  const dw = backend.makeOutput([fh, fw, ci, co], "float32");
  const dy2 = view(dy, [1, n, co]);
  try {
    for (let t0 = 0; t0 < taps; t0 += group) {
      const g = Math.min(group, taps - t0);
      const rows = g * ci;
      const cols = backend.makeOutput([rows, n], "float32");
      fillColumnsT(heap(backend), offsetOf(backend, cols), offsetOf(backend, xT), t0, g, {
        batchSize,
        inHeight,
        inWidth,
        ci,
        outHeight,
        outWidth,
        sh,
        sw,
        fw,
        top: info.padInfo.top,
        left: info.padInfo.left,
      });
      let prod: tf.TensorInfo;
      try {
        prod = matMul1(backend, view(cols, [1, rows, n]), dy2);
      } finally {
        backend.disposeData(cols.dataId);
      }
      const h = heap(backend);
      copy(h, offsetOf(backend, dw) + t0 * ci * co, offsetOf(backend, prod), rows * co);
      backend.disposeData(prod.dataId);
    }
    return dw;
  } catch (err) {
    backend.disposeData(dw.dataId);
    throw err;
  } finally {
    backend.disposeData(xT.dataId);
  }
}

interface ColumnGeometry {
  batchSize: number;
  inHeight: number;
  inWidth: number;
  ci: number;
  outHeight: number;
  outWidth: number;
  sh: number;
  sw: number;
  fw: number;
  top: number;
  left: number;
}

/**
 * colsᵀ[(t − t0)·ci + c, p] = x at tap t, channel c, of output position p
 * (0 in the padding), for taps t0 … t0+g−1, read from xᵀ [ci, b, h, w].
 */
function fillColumnsT(
  h: Float32Array,
  colsOff: number,
  xTOff: number,
  t0: number,
  g: number,
  geo: ColumnGeometry,
): void {
  const { batchSize, inHeight, inWidth, ci, outHeight, outWidth, sh, sw, fw, top, left } = geo;
  const n = batchSize * outHeight * outWidth;
  for (let t = t0; t < t0 + g; t++) {
    const kh = Math.floor(t / fw);
    const kw = t % fw;
    // Output columns ow whose input column ow·sw + kw − left lies inside x: [lo, hi).
    const lo = Math.min(outWidth, Math.max(0, Math.ceil((left - kw) / sw)));
    const hi = Math.max(lo, Math.min(outWidth, Math.floor((inWidth - 1 + left - kw) / sw) + 1));
    for (let c = 0; c < ci; c++) {
      let dst = colsOff + ((t - t0) * ci + c) * n;
      for (let b = 0; b < batchSize; b++) {
        const plane = xTOff + (c * batchSize + b) * inHeight * inWidth;
        for (let oh = 0; oh < outHeight; oh++, dst += outWidth) {
          const ih = oh * sh + kh - top;
          if (ih < 0 || ih >= inHeight) {
            h.fill(0, dst, dst + outWidth);
            continue;
          }
          if (lo > 0) h.fill(0, dst, dst + lo);
          if (hi < outWidth) h.fill(0, dst + hi, dst + outWidth);
          const src = plane + ih * inWidth + lo * sw + kw - left;
          if (sw === 1) {
            copy(h, dst + lo, src, hi - lo);
          } else {
            for (let ow = lo, s = src; ow < hi; ow++, s += sw) h[dst + ow] = h[s] as number;
          }
        }
      }
    }
  }
}

let stockBatchMatMul: KernelFunc | undefined;

/** The stock kernel's fast case: batch 1, no transposes (XNNPACK's GEMM). */
function matMul1(backend: WasmBackend, a: tf.TensorInfo, b: tf.TensorInfo): tf.TensorInfo {
  if (stockBatchMatMul === undefined) throw new Error("stock wasm BatchMatMul missing");
  return stockBatchMatMul({
    inputs: { a, b },
    attrs: { transposeA: false, transposeB: false },
    backend: backend as unknown as tf.KernelBackend,
  }) as tf.TensorInfo;
}

interface MatMulAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

/**
 * BatchMatMul that always reaches XNNPACK's GEMM. The stock kernel uses it
 * only for batch 1 without transposes; every other case (the Gram matrix
 * ψᵀψ of the style loss and its gradients are batched and transposed) is a
 * scalar loop at ~3 GFLOP/s. Here transposed operands are transposed
 * explicitly (one Transpose each) and batches run one GEMM per matrix, each
 * matrix copied out to a tensor of its own (the kernels address tensors,
 * not offsets).
 */
export function wasmBatchMatMul(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const a = args.inputs["a"];
  const b = args.inputs["b"];
  const { transposeA, transposeB } = args.attrs as unknown as MatMulAttrs;
  if (a === undefined || b === undefined) throw new Error("BatchMatMul needs a and b");
  if (stockBatchMatMul === undefined) throw new Error("stock wasm BatchMatMul missing");
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) {
    return stockBatchMatMul(args) as tf.TensorInfo;
  }
  const batchA = a.shape.slice(0, -2);
  const batchB = b.shape.slice(0, -2);
  const na = tf.util.sizeFromShape(batchA);
  const nb = tf.util.sizeFromShape(batchB);
  // Only equal batches or a batch of 1 against any (what tfjs's matMul gradients produce).
  if (na !== nb && na !== 1 && nb !== 1) return stockBatchMatMul(args) as tf.TensorInfo;
  const [ra, ca] = a.shape.slice(-2) as [number, number];
  const [rb, cb] = b.shape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [ca, ra] : [ra, ca];
  const [k2, nOut] = transposeB ? [cb, rb] : [rb, cb];
  if (k !== k2) return stockBatchMatMul(args) as tf.TensorInfo; // let it report the shape error
  const batch = Math.max(na, nb);
  const outShape = [...tf.broadcast_util.assertAndGetBroadcastShape(batchA, batchB), m, nOut];
  if (batch === 1 && !transposeA && !transposeB) {
    return view(matMul1(backend, view(a, [1, m, k]), view(b, [1, k, nOut])), outShape);
  }
  const temps: tf.TensorInfo[] = [];
  try {
    const aa = transposeA
      ? runKernel(backend, "Transpose", { x: view(a, [na, ra, ca]) }, { perm: [0, 2, 1] })
      : view(a, [na, m, k]);
    if (transposeA) temps.push(aa);
    const bb = transposeB
      ? runKernel(backend, "Transpose", { x: view(b, [nb, rb, cb]) }, { perm: [0, 2, 1] })
      : view(b, [nb, k, nOut]);
    if (transposeB) temps.push(bb);
    if (batch === 1) return view(matMul1(backend, view(aa, [1, m, k]), view(bb, [1, k, nOut])), outShape);
    const out = backend.makeOutput([batch, m, nOut], "float32");
    const slice = (t: tf.TensorInfo, count: number, i: number, rows: number, cols: number): tf.TensorInfo => {
      if (count === 1) return view(t, [1, rows, cols]);
      const one = backend.makeOutput([1, rows, cols], "float32");
      temps.push(one);
      const h = heap(backend);
      copy(h, offsetOf(backend, one), offsetOf(backend, t) + i * rows * cols, rows * cols);
      return one;
    };
    try {
      for (let i = 0; i < batch; i++) {
        const prod = matMul1(backend, slice(aa, na, i, m, k), slice(bb, nb, i, k, nOut));
        const h = heap(backend);
        copy(h, offsetOf(backend, out) + i * m * nOut, offsetOf(backend, prod), m * nOut);
        backend.disposeData(prod.dataId);
        // Free this batch's copies now: they can be large (activations).
        while (temps.length > (transposeA ? 1 : 0) + (transposeB ? 1 : 0)) {
          const t = temps.pop();
          if (t !== undefined) backend.disposeData(t.dataId);
        }
      }
    } catch (err) {
      backend.disposeData(out.dataId);
      throw err;
    }
    return view(out, outShape);
  } finally {
    for (const t of temps) backend.disposeData(t.dataId);
  }
}

let stockBackpropInput: KernelFunc | undefined;

/**
 * dx[b, i, j, ci] = Σ dy[b, o, q, co] · W[kh, kw, ci, co] over o·sh + kh − top = i, q·sw + kw − left = j,
 * as one stride-1 XNNPACK conv of dy (sub-pixel form for stride > 1); see the module comment.
 *
 * Per axis (stride s, filter K, leading pad p): padded index u·s + r (phase r)
 * collects dy[u − m] · W[m·s + r] for m < Kq = ⌈K/s⌉, i.e. a correlation of dy
 * (zero-padded by Kq − 1 − u0 in front) with the phase's taps in reverse.
 */
export function wasmConv2DBackpropInput(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const dy = args.inputs["dy"];
  const filter = args.inputs["filter"];
  const a = args.attrs as unknown as BackpropInputAttrs;
  if (dy === undefined || filter === undefined) throw new Error("Conv2DBackpropInput needs dy and filter");
  const fallback = (): tf.TensorInfo => {
    if (stockBackpropInput === undefined) throw new Error("stock wasm Conv2DBackpropInput missing");
    return stockBackpropInput(args) as tf.TensorInfo;
  };
  if (a.dataFormat !== "NHWC" || dy.dtype !== "float32" || filter.dtype !== "float32") return fallback();
  const fShape = filter.shape as [number, number, number, number];
  const info = nhwcConvInfo(a.inputShape, fShape, a);
  const [kH, kW, ci, co] = fShape;
  const axis = (k: number, s: number, pad: number, inSize: number, outSize: number) => {
    const kq = Math.ceil(k / s);
    const u0 = Math.floor(pad / s);
    const count = Math.floor((pad + inSize - 1) / s) - u0 + 1;
    const padBefore = kq - 1 - u0;
    const padAfter = count + kq - 1 - padBefore - outSize;
    return { s, kq, count, padBefore, padAfter, offset: pad - u0 * s };
  };
  const ah = axis(kH, info.strideHeight, info.padInfo.top, info.inHeight, info.outHeight);
  const aw = axis(kW, info.strideWidth, info.padInfo.left, info.inWidth, info.outWidth);
  // Pads larger than the filter would need cropping dy; tfjs never sends them.
  if (ah.padBefore < 0 || ah.padAfter < 0 || aw.padBefore < 0 || aw.padAfter < 0) return fallback();

  // F[mh, mw, co, (rh·sw + rw)·ci + c] = W[(kqh−1−mh)·sh + rh, (kqw−1−mw)·sw + rw, c, co], 0 past the filter.
  const phases = ah.s * aw.s;
  const fOut = phases * ci;
  const f = backend.makeOutput([ah.kq, aw.kq, co, fOut], "float32");
  {
    const h = heap(backend);
    const fo = offsetOf(backend, f);
    const wo = offsetOf(backend, filter);
    for (let mh = 0; mh < ah.kq; mh++) {
      for (let mw = 0; mw < aw.kq; mw++) {
        for (let rh = 0; rh < ah.s; rh++) {
          for (let rw = 0; rw < aw.s; rw++) {
            const kh = (ah.kq - 1 - mh) * ah.s + rh;
            const kw = (aw.kq - 1 - mw) * aw.s + rw;
            const colBase = fo + (mh * aw.kq + mw) * co * fOut + (rh * aw.s + rw) * ci;
            if (kh >= kH || kw >= kW) {
              for (let o = 0; o < co; o++) h.fill(0, colBase + o * fOut, colBase + o * fOut + ci);
              continue;
            }
            const wBase = wo + (kh * kW + kw) * ci * co;
            for (let c = 0; c < ci; c++) {
              const src = wBase + c * co;
              let dst = colBase + c;
              for (let o = 0; o < co; o++, dst += fOut) h[dst] = h[src + o] as number;
            }
          }
        }
      }
    }
  }
  let z: tf.TensorInfo;
  try {
    z = runKernel(
      backend,
      "Conv2D",
      { x: dy, filter: f },
      {
        strides: [1, 1],
        dilations: [1, 1],
        pad: [
          [0, 0],
          [ah.padBefore, ah.padAfter],
          [aw.padBefore, aw.padAfter],
          [0, 0],
        ],
        dataFormat: "NHWC",
      },
    );
  } finally {
    backend.disposeData(f.dataId);
  }
  const [batch, inH, inW] = a.inputShape;
  if (phases === 1 && ah.offset === 0 && aw.offset === 0 && ah.count === inH && aw.count === inW) {
    return view(z, [batch, inH, inW, ci]);
  }
  // Interleave the phases: dx[b, i, j] = z[b, (i+offH) div sh, (j+offW) div sw, phase] .
  const dx = backend.makeOutput([batch, inH, inW, ci], "float32");
  const h = heap(backend);
  const zo = offsetOf(backend, z);
  let d = offsetOf(backend, dx);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < inH; i++) {
      const jh = i + ah.offset;
      const rowBase = zo + (b * ah.count + Math.floor(jh / ah.s)) * aw.count * fOut + (jh % ah.s) * aw.s * ci;
      for (let j = 0; j < inW; j++, d += ci) {
        const jw = j + aw.offset;
        copy(h, d, rowBase + Math.floor(jw / aw.s) * fOut + (jw % aw.s) * ci, ci);
      }
    }
  }
  backend.disposeData(z.dataId);
  return dx;
}

let stockSlice: KernelFunc | undefined;

/** Slice; a contiguous float32 slice is one copy on the heap, anything else goes to the stock kernel. */
export function wasmSlice(args: KernelArgs): tf.TensorInfo {
  const x = args.inputs["x"];
  if (x === undefined) throw new Error("Slice needs x");
  const { begin, size } = args.attrs as unknown as { begin: number | number[]; size?: number | number[] };
  const [b, s] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, begin, size) as [
    number[],
    number[],
  ];
  if (x.dtype !== "float32" || !tf.slice_util.isSliceContinous(x.shape, b, s)) {
    if (stockSlice === undefined) throw new Error("stock wasm Slice missing");
    return stockSlice(args) as tf.TensorInfo;
  }
  const backend = asWasm(args.backend);
  const out = backend.makeOutput(s, "float32");
  const flat = tf.slice_util.computeFlatOffset(b, tf.util.computeStrides(x.shape));
  copy(heap(backend), offsetOf(backend, out), offsetOf(backend, x) + flat, tf.util.sizeFromShape(s));
  return out;
}

interface MaxPoolGradAttrs {
  filterSize: number | [number, number];
  strides: number | [number, number];
  pad: "valid" | "same" | number | tf.backend_util.ExplicitPadding;
  dimRoundingMode?: "floor" | "round" | "ceil";
}

/**
 * dx[b, ih, iw, c] = Σ dy[b, oh, ow, c] over the windows whose maximum is
 * x[b, ih, iw, c]; the first maximum in row-major window order wins a tie,
 * as in the cpu backend.
 */
export function wasmMaxPoolGrad(args: KernelArgs): tf.TensorInfo {
  const backend = asWasm(args.backend);
  const dy = args.inputs["dy"];
  const x = args.inputs["input"];
  if (dy === undefined || x === undefined) throw new Error("MaxPoolGrad needs dy and input");
  const a = args.attrs as unknown as MaxPoolGradAttrs;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number],
    a.filterSize,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
  );
  const { batchSize, inHeight, inWidth, inChannels: ch, outHeight, outWidth } = info;
  const { strideHeight: sh, strideWidth: sw, filterHeight: fh, filterWidth: fw } = info;
  const { top, left } = info.padInfo;
  const dx = backend.makeOutput([...x.shape], "float32");
  const h = heap(backend);
  const xo = offsetOf(backend, x);
  const dyo = offsetOf(backend, dy);
  const dxo = offsetOf(backend, dx);
  h.fill(0, dxo, dxo + batchSize * inHeight * inWidth * ch);
  for (let b = 0; b < batchSize; b++) {
    const plane = b * inHeight * inWidth * ch;
    for (let oh = 0; oh < outHeight; oh++) {
      const h0 = oh * sh - top;
      for (let ow = 0; ow < outWidth; ow++) {
        const w0 = ow * sw - left;
        const g = dyo + ((b * outHeight + oh) * outWidth + ow) * ch;
        for (let c = 0; c < ch; c++) {
          let best = Number.NEGATIVE_INFINITY;
          let at = -1;
          for (let i = Math.max(0, h0); i < Math.min(inHeight, h0 + fh); i++) {
            for (let j = Math.max(0, w0); j < Math.min(inWidth, w0 + fw); j++) {
              const k = plane + (i * inWidth + j) * ch + c;
              const v = h[xo + k] as number;
              if (v > best || at < 0) {
                best = v;
                at = k;
              }
            }
          }
          if (at >= 0) h[dxo + at] = (h[dxo + at] as number) + (h[g + c] as number);
        }
      }
    }
  }
  return dx;
}

/**
 * Registers the training kernels on the wasm backend (idempotent). Call
 * after @tensorflow/tfjs-backend-wasm has been imported (it registers its own
 * kernels on import); the stock Conv2DBackpropInput is kept as the fallback.
 */
export function registerWasmTrainingKernels(): void {
  registerMirrorPadGrad("wasm");
  const input = tf.getKernel("Conv2DBackpropInput", "wasm");
  if (input !== undefined && input.kernelFunc !== wasmConv2DBackpropInput) {
    stockBackpropInput = input.kernelFunc;
    tf.unregisterKernel("Conv2DBackpropInput", "wasm");
  }
  if (tf.getKernel("Conv2DBackpropInput", "wasm") === undefined) {
    // Keep the stock setupFunc: it binds the C++ function the fallback calls.
    tf.registerKernel({
      ...(input ?? { kernelName: "Conv2DBackpropInput", backendName: "wasm" }),
      kernelFunc: wasmConv2DBackpropInput,
    });
  }
  const matmul = tf.getKernel("BatchMatMul", "wasm");
  if (matmul !== undefined && matmul.kernelFunc !== wasmBatchMatMul) {
    stockBatchMatMul = matmul.kernelFunc;
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ ...matmul, kernelFunc: wasmBatchMatMul });
  }
  const slice = tf.getKernel("Slice", "wasm");
  if (slice !== undefined && slice.kernelFunc !== wasmSlice) {
    stockSlice = slice.kernelFunc;
    tf.unregisterKernel("Slice", "wasm");
    tf.registerKernel({ ...slice, kernelFunc: wasmSlice });
  }
  const pool = tf.getKernel("MaxPoolGrad", "wasm");
  if (pool !== undefined && pool.kernelFunc !== wasmMaxPoolGrad) {
    tf.unregisterKernel("MaxPoolGrad", "wasm");
    tf.registerKernel({ kernelName: "MaxPoolGrad", backendName: "wasm", kernelFunc: wasmMaxPoolGrad });
  }
  if (tf.getKernel("Conv2DBackpropFilter", "wasm") === undefined) {
    tf.registerKernel({
      kernelName: "Conv2DBackpropFilter",
      backendName: "wasm",
      kernelFunc: wasmConv2DBackpropFilter,
    });
  }
}

/** The wasm backend's own Conv2DBackpropInput, for tests that compare against it. */
export function stockWasmConv2DBackpropInput(): KernelFunc | undefined {
  return stockBackpropInput;
}
