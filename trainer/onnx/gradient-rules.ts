// Reverse-mode rules, one per ONNX op the training graph uses: given a
// forward node and the gradient of its (first) output, append the nodes that
// compute the gradients of its inputs. Shapes are static in a training graph
// (one graph per batch and image size), which the broadcasting rules need.
//
// The rules (x input, y output, dy = ∂L/∂y; layouts NCHW):
//   Add/Sub      dx = Σ_broadcast dy (−dy for Sub's second operand)
//   Mul          da = Σ_b dy·b, db = Σ_b dy·a
//   Div          da = Σ_b dy/b, db = −Σ_b dy·y/b
//   Sqrt         dx = dy·½/y
//   Tanh         dx = dy·(1 − y²)
//   Relu         dx = dy where x > 0, else 0
//   Reshape      dx = reshape(dy, shape(x)); Transpose: the inverse permutation
//   ReduceMean   dx = expand(dy)/count; ReduceSum: dx = expand(dy)
//   Slice        dx = dy zero-padded back to shape(x)
//   MatMul       dA = dy·Bᵀ, dB = Aᵀ·dy (summed over broadcast batch axes)
//   Conv         dx = Conv(dy, W flipped, in/out swapped, pads k − 1 − p) for
//                stride 1, else ConvTranspose(dy, W) with the conv's strides and pads;
//                dW: conv-filter-gradient.ts (per-tap GEMMs over
//                contiguous runs of x for stride-1 3×3 kernels, im2col
//                GEMMs for strided ones and the last 9×9 conv, a
//                batch/channel-swapped Conv for the first);
//                db = Σ_{N,H,W} dy
//   ConvTranspose (the adjoint of Conv) dx = Conv(dy, W); dW = the Conv filter
//                gradient with the roles of dy and x swapped
//   Pad reflect  dx = the centre of dy plus each mirrored border strip,
//                reversed and added back onto the pixels it copied
//   Resize ×2    (nearest) dx = Σ of each 2×2 block: reshape + ReduceSum
//   MaxPool      dx = MaxUnpool(dy, argmax indices): each window's gradient
//                goes to its first maximum, as in tfjs. Without the indices
//                output (WebGPU EP): ArgMax over each 2×2 window, the same
//                first maximum, and dy placed there with Equal + Where
import { attr, type GraphBuilder, type GraphNode, type Shape } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";
import { convFilterGradient } from "./conv-filter-gradient.js";

/**
 * The 2×2 stride-2 MaxPool's input gradient without the pool's indices
 * output, which ONNX Runtime's WebGPU provider does not compute (it fails
 * at run time: "The Indices output is not supported yet"). Each window's
 * four pixels are laid out on a last axis of 4 in row-major order, ArgMax
 * (first index on ties, select_last_index 0) picks the pixel MaxPool took,
 * and dy goes there; rows and columns the pool never read (odd sizes) get 0.
 */
function maxPoolWindowGradient(g: GraphBuilder, x: string, dy: string): string {
  const [n, c, h, w] = g.staticShape(x) as [number, number, number, number];
  const [ho, wo] = [Math.floor(h / 2), Math.floor(w / 2)];
  const even = h === 2 * ho && w === 2 * wo;
  const read = even ? x : ops.slice(g, x, [2, 3], [0, 0], [2 * ho, 2 * wo]);
  const windows = ops.reshape(
    g,
    ops.transpose(g, ops.reshape(g, read, [n, c, ho, 2, wo, 2]), [0, 1, 2, 4, 3, 5]),
    [n, c, ho, wo, 4],
  );
  // int64 [N, C, Ho, Wo, 1] and its one-hot bool mask (left undeclared, like Relu's Greater).
  const argmax = g.op("ArgMax", [windows], { axis: attr.int(4), keepdims: attr.int(1) });
  const taken = g.op("Equal", [argmax, g.int64s([0, 1, 2, 3])]);
  const spread = g.op("Where", [taken, ops.reshape(g, dy, [n, c, ho, wo, 1]), g.scalar(0)], {}, [
    n,
    c,
    ho,
    wo,
    4,
  ]);
  const dx = ops.reshape(
    g,
    ops.transpose(g, ops.reshape(g, spread, [n, c, ho, wo, 2, 2]), [0, 1, 2, 4, 3, 5]),
    [n, c, 2 * ho, 2 * wo],
  );
  return even ? dx : ops.padZeros(g, dx, [0, 0, 0, 0], [0, 0, h - 2 * ho, w - 2 * wo]);
}

export interface RuleContext {
  g: GraphBuilder;
  node: GraphNode;
  /** Gradient of the node's first output. */
  dy: string;
  /** Whether input i needs a gradient (lies on a path from a parameter). */
  needs: (i: number) => boolean;
  /**
   * A value holding a conv kernel W [O, I, kh, kw] flipped in space with its
   * channels swapped (the kernel of a stride-1 conv's input gradient), when
   * the caller supplies one (the training graph feeds the network's, computed
   * in JavaScript: docs/onnx-training.md); undefined: the rule flips W itself.
   */
  flippedKernel: (kernel: string) => string | undefined;
}

/** Gradient per input (undefined: not needed or not differentiable). */
export type Rule = (ctx: RuleContext) => (string | undefined)[];

/** The int64 values of an initializer (axes, pads, slice bounds). */
function int64Values(g: GraphBuilder, name: string | undefined): number[] {
  const init = name === undefined ? undefined : g.initializers.get(name);
  if (init === undefined || !(init.data instanceof BigInt64Array)) {
    throw new Error(`expected an int64 initializer, got ${String(name)}`);
  }
  return [...init.data].map(Number);
}

function intsAttribute(node: GraphNode, key: string, fallback: number[]): number[] {
  const a = node.attributes[key];
  return a?.kind === "ints" ? [...a.value] : fallback;
}

/** Sums a broadcast gradient back to an operand's (static) shape. */
export function sumToShape(g: GraphBuilder, grad: string, target: Shape): string {
  const from = g.staticShape(grad);
  const to = target.map((d) => d as number);
  const offset = from.length - to.length;
  const axes: number[] = [];
  from.forEach((d, i) => {
    const t = i < offset ? 1 : to[i - offset];
    if (i < offset || (t === 1 && d !== 1)) axes.push(i);
  });
  let out = axes.length > 0 ? ops.reduce(g, "ReduceSum", grad, axes, true) : grad;
  if (offset !== 0 || axes.length > 0) {
    const now = g.staticShape(out);
    if (now.length !== to.length || now.some((d, i) => d !== to[i])) out = ops.reshape(g, out, to);
  }
  return out;
}

const neg = (g: GraphBuilder, x: string): string => ops.unary(g, "Neg", x);

function input(node: GraphNode, i: number): string {
  const name = node.inputs[i];
  if (name === undefined) throw new Error(`${node.op}: no input ${i}`);
  return name;
}

const output = (node: GraphNode): string => node.outputs[0]!;

function convParams(node: GraphNode): {
  strides: [number, number];
  pads: [number, number, number, number];
  dilations: [number, number];
} {
  const [sh = 1, sw = 1] = intsAttribute(node, "strides", [1, 1]);
  const [pt = 0, pl = 0, pb = 0, pr = 0] = intsAttribute(node, "pads", [0, 0, 0, 0]);
  const [dh = 1, dw = 1] = intsAttribute(node, "dilations", [1, 1]);
  if (dh !== 1 || dw !== 1)
    throw new Error("Conv gradient: dilated convs are not used by the training graph");
  return { strides: [sh, sw], pads: [pt, pl, pb, pr], dilations: [dh, dw] };
}

/**
 * ∂L/∂x of a stride-1 y = Conv(x, W) with pads p: the full correlation of dy
 * with W flipped in space and its in/out channels swapped, padded by k − 1 − p.
 * Written as a Conv rather than a ConvTranspose because ONNX Runtime's CPU
 * provider runs Conv in its blocked (NCHWc) kernels, ConvTranspose as a
 * GEMM + col2im: 1.2–6× slower on the project's layers. With constant
 * weights (VGG-16) the flip and transpose fold away when the session is built.
 */
function stride1ConvInputGradient(
  g: GraphBuilder,
  dy: string,
  w: string,
  [kh, kw]: [number, number],
  [pt, pl, pb, pr]: [number, number, number, number],
  supplied: string | undefined,
): string {
  const flipped = supplied ?? ops.reverse(g, ops.reverse(g, ops.transpose(g, w, [1, 0, 2, 3]), 2), 3);
  return ops.conv(g, dy, flipped, undefined, { pads: [kh - 1 - pt, kw - 1 - pl, kh - 1 - pb, kw - 1 - pr] });
}

/** The gradient of Pad mode=reflect, one padded axis at a time. */
function reflectPadGradient(g: GraphBuilder, dy: string, xShape: number[], pads: number[]): string {
  const rank = xShape.length;
  let grad = dy;
  for (let axis = 0; axis < rank; axis++) {
    const before = pads[axis] ?? 0;
    const after = pads[axis + rank] ?? 0;
    if (before === 0 && after === 0) continue;
    const n = xShape[axis]!;
    if (before >= n || after >= n)
      throw new Error(`reflect pad ${before}/${after} needs more than ${n} pixels`);
    const zeros = (b: number, e: number) => {
      const begin = new Array<number>(rank).fill(0);
      const end = new Array<number>(rank).fill(0);
      begin[axis] = b;
      end[axis] = e;
      return { begin, end };
    };
    let sum = ops.slice(g, grad, [axis], [before], [before + n]);
    if (before > 0) {
      // Padded row j < before copied x[before − j]: x rows 1..before, in reverse.
      const strip = ops.reverse(g, ops.slice(g, grad, [axis], [0], [before]), axis);
      const { begin, end } = zeros(1, n - 1 - before);
      sum = ops.add(g, sum, ops.padZeros(g, strip, begin, end));
    }
    if (after > 0) {
      // Padded row before + n + j copied x[n − 2 − j]: x rows n−1−after..n−2, in reverse.
      const strip = ops.reverse(g, ops.slice(g, grad, [axis], [before + n], [before + n + after]), axis);
      const { begin, end } = zeros(n - 1 - after, 1);
      sum = ops.add(g, sum, ops.padZeros(g, strip, begin, end));
    }
    grad = sum;
  }
  return grad;
}

function reduceGradient(ctx: RuleContext, mean: boolean): string {
  const { g, node, dy } = ctx;
  const x = input(node, 0);
  const xShape = g.staticShape(x);
  const axes = node.inputs[1] ? int64Values(g, node.inputs[1]) : xShape.map((_, i) => i);
  const keep = node.attributes.keepdims?.kind === "int" ? node.attributes.keepdims.value : 1;
  const kept = xShape.map((d, i) => (axes.includes(i) ? 1 : d));
  let grad = keep === 1 ? dy : ops.reshape(g, dy, kept);
  grad = ops.expand(g, grad, xShape);
  if (mean) {
    const count = axes.reduce((c, a) => c * xShape[a]!, 1);
    grad = ops.mul(g, grad, g.scalar(1 / count));
  }
  return grad;
}

export const RULES: Record<string, Rule> = {
  Identity: ({ dy }) => [dy],

  Add: ({ g, node, dy, needs }) => [
    needs(0) ? sumToShape(g, dy, g.shape(input(node, 0))) : undefined,
    needs(1) ? sumToShape(g, dy, g.shape(input(node, 1))) : undefined,
  ],

  Sub: ({ g, node, dy, needs }) => [
    needs(0) ? sumToShape(g, dy, g.shape(input(node, 0))) : undefined,
    needs(1) ? sumToShape(g, neg(g, dy), g.shape(input(node, 1))) : undefined,
  ],

  Mul: ({ g, node, dy, needs }) => {
    const [a, b] = [input(node, 0), input(node, 1)];
    return [
      needs(0) ? sumToShape(g, ops.mul(g, dy, b), g.shape(a)) : undefined,
      needs(1) ? sumToShape(g, ops.mul(g, dy, a), g.shape(b)) : undefined,
    ];
  },

  Div: ({ g, node, dy, needs }) => {
    const [a, b] = [input(node, 0), input(node, 1)];
    return [
      needs(0) ? sumToShape(g, ops.div(g, dy, b), g.shape(a)) : undefined,
      needs(1) ? sumToShape(g, neg(g, ops.div(g, ops.mul(g, dy, output(node)), b)), g.shape(b)) : undefined,
    ];
  },

  Neg: ({ g, dy }) => [neg(g, dy)],

  Sqrt: ({ g, node, dy }) => [ops.div(g, ops.mul(g, dy, g.scalar(0.5)), output(node))],

  Tanh: ({ g, node, dy }) => {
    const y = output(node);
    return [ops.mul(g, dy, ops.sub(g, g.scalar(1), ops.mul(g, y, y)))];
  },

  Relu: ({ g, node, dy }) => {
    const x = input(node, 0);
    const positive = g.op("Greater", [x, g.scalar(0)]);
    return [g.op("Where", [positive, dy, g.scalar(0)], {}, g.shape(x))];
  },

  Reshape: ({ g, node, dy }) => [ops.reshape(g, dy, g.staticShape(input(node, 0)))],

  Transpose: ({ g, node, dy }) => {
    const perm = intsAttribute(node, "perm", []);
    const inverse = perm.map((_, i) => perm.indexOf(i));
    return [ops.transpose(g, dy, inverse)];
  },

  ReduceMean: (ctx) => [reduceGradient(ctx, true)],
  ReduceSum: (ctx) => [reduceGradient(ctx, false)],

  Slice: ({ g, node, dy }) => {
    const xShape = g.staticShape(input(node, 0));
    const starts = int64Values(g, node.inputs[1]);
    const ends = int64Values(g, node.inputs[2]);
    const axes = int64Values(g, node.inputs[3]);
    if (node.inputs[4] !== undefined && int64Values(g, node.inputs[4]).some((s) => s !== 1)) {
      throw new Error("Slice gradient: only unit steps");
    }
    const begin = new Array<number>(xShape.length).fill(0);
    const end = new Array<number>(xShape.length).fill(0);
    axes.forEach((a, i) => {
      begin[a] = starts[i]!;
      end[a] = xShape[a]! - ends[i]!;
    });
    return [ops.padZeros(g, dy, begin, end)];
  },

  MatMul: ({ g, node, dy, needs }) => {
    const [a, b] = [input(node, 0), input(node, 1)];
    const swapLast = (v: string) => {
      const rank = g.shape(v).length;
      return ops.transpose(g, v, [...Array(rank - 2).keys(), rank - 1, rank - 2]);
    };
    return [
      needs(0) ? sumToShape(g, ops.matMul(g, dy, swapLast(b)), g.shape(a)) : undefined,
      needs(1) ? sumToShape(g, ops.matMul(g, swapLast(a), dy), g.shape(b)) : undefined,
    ];
  },

  Conv: ({ g, node, dy, needs, flippedKernel }) => {
    const [x, w] = [input(node, 0), input(node, 1)];
    const { strides, pads } = convParams(node);
    const [, , h, wd] = g.staticShape(x);
    const [, , kh, kw] = g.staticShape(w);
    // Rows the strided conv never reached come back as output padding.
    const outputPadding: [number, number] = [
      (h! + pads[0] + pads[2] - kh!) % strides[0],
      (wd! + pads[1] + pads[3] - kw!) % strides[1],
    ];
    const stride1 = strides[0] === 1 && strides[1] === 1 && pads.every((p) => p < Math.min(kh!, kw!));
    return [
      needs(0)
        ? stride1
          ? stride1ConvInputGradient(g, dy, w, [kh!, kw!], pads, flippedKernel(w))
          : ops.convTranspose(g, dy, w, undefined, { strides, pads, outputPadding })
        : undefined,
      needs(1) ? convFilterGradient(g, x, dy, [kh!, kw!], strides, pads) : undefined,
      needs(2) ? ops.reduce(g, "ReduceSum", dy, [0, 2, 3], false) : undefined,
    ];
  },

  ConvTranspose: ({ g, node, dy, needs }) => {
    const [x, w] = [input(node, 0), input(node, 1)];
    const { strides, pads } = convParams(node);
    const [, , kh, kw] = g.staticShape(w);
    return [
      needs(0) ? ops.conv(g, dy, w, undefined, { strides, pads }) : undefined,
      needs(1) ? convFilterGradient(g, dy, x, [kh!, kw!], strides, pads) : undefined,
      needs(2) ? ops.reduce(g, "ReduceSum", dy, [0, 2, 3], false) : undefined,
    ];
  },

  Pad: ({ g, node, dy }) => {
    const mode = node.attributes.mode;
    if (mode?.kind !== "string" || mode.value !== "reflect")
      throw new Error("Pad gradient: reflect mode only");
    return [reflectPadGradient(g, dy, g.staticShape(input(node, 0)), int64Values(g, node.inputs[1]))];
  },

  Resize: ({ g, node, dy }) => {
    const scales = node.inputs[2] ? g.initializers.get(node.inputs[2])?.data : undefined;
    if (!(scales instanceof Float32Array) || [...scales].join() !== "1,1,2,2") {
      throw new Error("Resize gradient: nearest ×2 only");
    }
    const [n, c, h, w] = g.staticShape(input(node, 0));
    const blocks = ops.reshape(g, dy, [n!, c!, h!, 2, w!, 2]);
    return [ops.reduce(g, "ReduceSum", blocks, [3, 5], false)];
  },

  MaxPool: ({ g, node, dy }) => {
    const indices = node.outputs[1];
    const x = input(node, 0);
    if (indices === undefined) return [maxPoolWindowGradient(g, x, dy)];
    const shape = g.staticShape(x);
    return [
      g.op(
        "MaxUnpool",
        [dy, indices, g.int64s(shape)],
        {
          kernel_shape: node.attributes.kernel_shape ?? attr.ints([2, 2]),
          strides: node.attributes.strides ?? attr.ints([2, 2]),
        },
        shape,
      ),
    ];
  },
};
