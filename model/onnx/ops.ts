// ONNX operators (opset 18) as functions on a GraphBuilder that also infer
// the output's shape, static where the inputs are. Only the ops the
// project's graphs use; layout NCHW throughout.
import { attr, type Dim, type GraphBuilder, type Shape } from "./graph.js";

/** Applies f to known dimensions; anything unknown or symbolic stays unknown. */
function dim(d: Dim, f: (n: number) => number): Dim {
  return typeof d === "number" ? f(d) : null;
}

/** NumPy broadcasting of two shapes (right-aligned). */
export function broadcastShape(a: Shape, b: Shape): Dim[] {
  const rank = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da === 1) out.push(db);
    else if (db === 1 || da === db) out.push(da);
    else if (typeof da === "number" && typeof db === "number") {
      throw new Error(`shapes [${a.join(",")}] and [${b.join(",")}] do not broadcast`);
    } else out.push(typeof da === "string" ? da : db);
  }
  return out;
}

export type Binary = "Add" | "Sub" | "Mul" | "Div";

export function binary(g: GraphBuilder, op: Binary, a: string, b: string): string {
  return g.op(op, [a, b], {}, broadcastShape(g.shape(a), g.shape(b)));
}
export const add = (g: GraphBuilder, a: string, b: string): string => binary(g, "Add", a, b);
export const sub = (g: GraphBuilder, a: string, b: string): string => binary(g, "Sub", a, b);
export const mul = (g: GraphBuilder, a: string, b: string): string => binary(g, "Mul", a, b);
export const div = (g: GraphBuilder, a: string, b: string): string => binary(g, "Div", a, b);

export type Unary = "Relu" | "Tanh" | "Sqrt" | "Reciprocal" | "Neg" | "Identity";

export function unary(g: GraphBuilder, op: Unary, x: string): string {
  return g.op(op, [x], {}, g.shape(x));
}

export interface ConvOptions {
  strides?: [number, number];
  /** [top, left, bottom, right], ONNX's order. */
  pads?: [number, number, number, number];
  dilations?: [number, number];
}

function convAttributes(o: ConvOptions): Record<string, ReturnType<typeof attr.ints>> {
  return {
    strides: attr.ints(o.strides ?? [1, 1]),
    pads: attr.ints(o.pads ?? [0, 0, 0, 0]),
    dilations: attr.ints(o.dilations ?? [1, 1]),
  };
}

/** Conv: x [N, C, H, W], w [M, C, kH, kW], optional bias [M] → [N, M, H', W']. */
export function conv(
  g: GraphBuilder,
  x: string,
  w: string,
  bias: string | undefined,
  o: ConvOptions = {},
): string {
  const [n, , h, wd] = g.shape(x);
  const [m, , kh, kw] = g.shape(w);
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [dh, dw] = o.dilations ?? [1, 1];
  const out = (size: Dim, k: Dim, s: number, p: number, d: number): Dim =>
    typeof size === "number" && typeof k === "number"
      ? Math.floor((size + p - d * (k - 1) - 1) / s) + 1
      : null;
  return g.op("Conv", bias === undefined ? [x, w] : [x, w, bias], convAttributes(o), [
    n ?? null,
    m ?? null,
    out(h ?? null, kh ?? null, sh, pt + pb, dh),
    out(wd ?? null, kw ?? null, sw, pl + pr, dw),
  ]);
}

export interface ConvTransposeOptions extends ConvOptions {
  outputPadding?: [number, number];
}

/** ConvTranspose: x [N, C, H, W], w [C, M, kH, kW] → [N, M, s(H−1) + op + k − pads, …]. */
export function convTranspose(
  g: GraphBuilder,
  x: string,
  w: string,
  bias: string | undefined,
  o: ConvTransposeOptions = {},
): string {
  const [n, , h, wd] = g.shape(x);
  const [, m, kh, kw] = g.shape(w);
  const [sh, sw] = o.strides ?? [1, 1];
  const [pt, pl, pb, pr] = o.pads ?? [0, 0, 0, 0];
  const [oh, ow] = o.outputPadding ?? [0, 0];
  const out = (size: Dim, k: Dim, s: number, p: number, op: number): Dim =>
    typeof size === "number" && typeof k === "number" ? s * (size - 1) + op + k - p : null;
  return g.op(
    "ConvTranspose",
    bias === undefined ? [x, w] : [x, w, bias],
    { ...convAttributes(o), output_padding: attr.ints([oh, ow]) },
    [
      n ?? null,
      m ?? null,
      out(h ?? null, kh ?? null, sh, pt + pb, oh),
      out(wd ?? null, kw ?? null, sw, pl + pr, ow),
    ],
  );
}

/** Pads H and W of an NCHW tensor: [top, left, bottom, right]. */
export function pad2d(
  g: GraphBuilder,
  x: string,
  pads: [number, number, number, number],
  mode: "reflect" | "constant",
): string {
  const [t, l, b, r] = pads;
  const [n, c, h, w] = g.shape(x);
  return g.op("Pad", [x, g.int64s([0, 0, t, l, 0, 0, b, r])], { mode: attr.string(mode) }, [
    n ?? null,
    c ?? null,
    dim(h ?? null, (v) => v + t + b),
    dim(w ?? null, (v) => v + l + r),
  ]);
}

/** Pads any axes with zeros: begin and end per axis. */
export function padZeros(
  g: GraphBuilder,
  x: string,
  begin: readonly number[],
  end: readonly number[],
): string {
  const shape = g.shape(x);
  return g.op(
    "Pad",
    [x, g.int64s([...begin, ...end])],
    { mode: attr.string("constant") },
    shape.map((d, i) => dim(d, (v) => v + (begin[i] ?? 0) + (end[i] ?? 0))),
  );
}

/**
 * Nearest-neighbour ×2 of H and W, output pixel (i, j) copying input pixel
 * (⌊i/2⌋, ⌊j/2⌋): tfjs's resizeNearestNeighbor without align-corners or
 * half-pixel centres.
 */
export function upsampleNearest2x(g: GraphBuilder, x: string): string {
  const [n, c, h, w] = g.shape(x);
  const scales = g.initializer(g.fresh("scales"), Float32Array.of(1, 1, 2, 2), [4]);
  return g.op(
    "Resize",
    [x, "", scales],
    {
      mode: attr.string("nearest"),
      coordinate_transformation_mode: attr.string("asymmetric"),
      nearest_mode: attr.string("floor"),
    },
    [n ?? null, c ?? null, dim(h ?? null, (v) => 2 * v), dim(w ?? null, (v) => 2 * v)],
  );
}

export function reduce(
  g: GraphBuilder,
  op: "ReduceMean" | "ReduceSum",
  x: string,
  axes: readonly number[],
  keepdims: boolean,
): string {
  const shape = g.shape(x);
  const out: Dim[] = [];
  shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return g.op(op, [x, g.int64s(axes)], { keepdims: attr.int(keepdims ? 1 : 0) }, out);
}

export function reshape(g: GraphBuilder, x: string, shape: readonly number[]): string {
  return g.op("Reshape", [x, g.int64s(shape)], {}, shape);
}

export function transpose(g: GraphBuilder, x: string, perm: readonly number[]): string {
  const shape = g.shape(x);
  return g.op(
    "Transpose",
    [x],
    { perm: attr.ints(perm) },
    perm.map((p) => shape[p] ?? null),
  );
}

/** Batched MatMul [..., a, b] × [..., b, c] → [..., a, c]. */
export function matMul(g: GraphBuilder, a: string, b: string): string {
  const sa = g.shape(a);
  const sb = g.shape(b);
  const batch = broadcastShape(sa.slice(0, -2), sb.slice(0, -2));
  return g.op("MatMul", [a, b], {}, [...batch, sa[sa.length - 2] ?? null, sb[sb.length - 1] ?? null]);
}

/** Slice on the given axes, with positive steps (unit steps when not given). */
export function slice(
  g: GraphBuilder,
  x: string,
  axes: readonly number[],
  starts: readonly number[],
  ends: readonly number[],
  steps?: readonly number[],
): string {
  const shape = [...g.shape(x)];
  axes.forEach((a, i) => {
    const step = steps?.[i] ?? 1;
    shape[a] = Math.ceil(((ends[i] ?? 0) - (starts[i] ?? 0)) / step);
  });
  const inputs = [x, g.int64s(starts), g.int64s(ends), g.int64s(axes)];
  if (steps !== undefined && steps.some((s) => s !== 1)) inputs.push(g.int64s(steps));
  return g.op("Slice", inputs, {}, shape);
}

/** Concatenation along an axis (all other dimensions static and equal). */
export function concat(g: GraphBuilder, xs: readonly string[], axis: number): string {
  const first = g.staticShape(xs[0]!);
  const total = xs.reduce((sum, x) => sum + g.staticShape(x)[axis]!, 0);
  return g.op(
    "Concat",
    xs,
    { axis: attr.int(axis) },
    first.map((d, i) => (i === axis ? total : d)),
  );
}

/** Reverses one axis of static size n (Slice with step −1). */
export function reverse(g: GraphBuilder, x: string, axis: number): string {
  const lowest = -(2 ** 62);
  return g.op(
    "Slice",
    [x, g.int64s([-1]), g.int64s([lowest]), g.int64s([axis]), g.int64s([-1])],
    {},
    g.shape(x),
  );
}

/** 2×2 max-pool, stride 2; also returns the flat index of each maximum (for the gradient). */
export function maxPool2x2(
  g: GraphBuilder,
  x: string,
  withIndices: boolean,
): { y: string; indices?: string } {
  const [n, c, h, w] = g.shape(x);
  const shape: Dim[] = [
    n ?? null,
    c ?? null,
    dim(h ?? null, (v) => Math.floor(v / 2)),
    dim(w ?? null, (v) => Math.floor(v / 2)),
  ];
  const y = g.fresh("maxpool");
  const attributes = { kernel_shape: attr.ints([2, 2]), strides: attr.ints([2, 2]) };
  if (!withIndices) {
    g.node("MaxPool", [x], [y], attributes);
    g.declare(y, shape);
    return { y };
  }
  const indices = g.fresh("maxpool_indices");
  g.node("MaxPool", [x], [y, indices], attributes);
  g.declare(y, shape);
  g.declare(indices, shape, "int64");
  return { y, indices };
}

/** Broadcasts x to a static shape. */
export function expand(g: GraphBuilder, x: string, shape: readonly number[]): string {
  return g.op("Expand", [x, g.int64s(shape)], {}, shape);
}
