/**
 * Reads VGG-16's convolutions out of an ONNX model (a classifier exported
 * from Keras with tf2onnx, or from PyTorch with torch.onnx.export). Only the
 * weights are taken; nothing of the graph is run. The graph is used to find
 * them: the Conv nodes in graph order (ONNX keeps nodes topologically
 * sorted), each one checked against VGG-16 — its kernel and bias shapes,
 * 3×3 stride-1 "same" convolution, and that its input comes from the
 * previous conv through a ReLU (and a 2×2 max-pool between blocks).
 *
 * Kernels: ONNX's Conv takes OIHW. An exporter may keep a Keras HWIO kernel
 * as the initializer and put a Transpose node in front of the Conv; such
 * Transpose/Identity chains are followed and applied, so the kernel read is
 * the one the Conv computes with. Inputs: tf2onnx exports of Keras models
 * take NHWC images and Transpose them to NCHW before the first conv; that is
 * reported as the export's layout (our loss network runs NHWC either way).
 */
import onnxProto from "onnx-proto";
import type { NamedArray } from "../model/parameters.js";
import { decodeFloats, type FloatDtype } from "./safetensors.js";
import { oihwToHwio, transposeArray } from "./transpose.js";
import { type ConvWeights, checkConvWeights, type VggConvName, VGG16_CONVS } from "./vgg16.js";

const { onnx } = onnxProto;
type Node = onnxProto.onnx.INodeProto;
type Tensor = onnxProto.onnx.ITensorProto;

/** ONNX TensorProto.DataType values of the float types we read, as safetensors dtype names. */
const ONNX_FLOAT_TYPES: Record<number, FloatDtype> = { 1: "F32", 10: "F16", 11: "F64", 16: "BF16" };
const ONNX_EXTERNAL = 1;

/** What the reader found, for the loader's log line. */
export interface OnnxVgg16Report {
  producer: string;
  /** The layout of the graph's image input: NHWC when a Transpose(0,3,1,2) precedes conv1_1. */
  inputLayout: "NCHW" | "NHWC";
  /** "OIHW" when the Conv nodes read initializers directly, "HWIO" when through a Transpose. */
  kernelLayout: "OIHW" | "HWIO" | "mixed";
  /** The Conv node (or kernel initializer) names used, conv1_1 … conv4_3. */
  convNodes: string[];
  /** Ops between the graph input and conv1_1 other than layout changes (an export's own preprocessing; not used). */
  preprocessing: string[];
  /** All initializer names, for identifying known sources by name. */
  initializerNames: string[];
  /** Conv nodes in the whole graph (13 for a VGG-16 with all its blocks). */
  totalConvs: number;
}

export interface OnnxVgg16 {
  weights: Map<VggConvName, ConvWeights>;
  report: OnnxVgg16Report;
}

function attribute(node: Node, name: string): onnxProto.onnx.IAttributeProto | undefined {
  return node.attribute?.find((a) => a.name === name);
}
function intsAttribute(node: Node, name: string): number[] | undefined {
  const a = attribute(node, name);
  return a?.ints && a.ints.length > 0 ? a.ints.map(Number) : undefined;
}
function stringAttribute(node: Node, name: string): string | undefined {
  const a = attribute(node, name);
  return a?.s && a.s.length > 0 ? new TextDecoder().decode(a.s) : undefined;
}
function nodeLabel(node: Node): string {
  return node.name ? `'${node.name}'` : `${node.opType} → ${node.output?.[0] ?? "?"}`;
}

function tensorArray(t: Tensor, where: string): NamedArray {
  const name = t.name ?? "(unnamed)";
  const shape = (t.dims ?? []).map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  if (t.dataLocation === ONNX_EXTERNAL) {
    throw new Error(
      `${where}: tensor ${name} keeps its data in an external file, which is not supported; save the model with all tensors inside (onnx.save_model(m, path, save_as_external_data=False))`,
    );
  }
  const dtype = ONNX_FLOAT_TYPES[t.dataType ?? 0];
  if (dtype === undefined) {
    throw new Error(
      `${where}: tensor ${name} has ONNX data type ${t.dataType}; weights must be float, float16, bfloat16 or double`,
    );
  }
  let data: Float32Array;
  if (t.rawData && t.rawData.length > 0) {
    data = decodeFloats(dtype, t.rawData);
  } else if (dtype === "F32") {
    data = Float32Array.from(t.floatData ?? []);
  } else if (dtype === "F64") {
    data = Float32Array.from(t.doubleData ?? []);
  } else {
    // float16 / bfloat16 without raw_data: the 16-bit patterns sit in int32_data.
    const bits = Uint16Array.from(t.int32Data ?? []);
    data = decodeFloats(dtype, new Uint8Array(bits.buffer));
  }
  if (data.length !== count) {
    throw new Error(`${where}: tensor ${name} has ${data.length} values for shape [${shape.join(",")}]`);
  }
  return { shape, data };
}

/** Producers, consumers and constants of a graph, by value name. */
class GraphIndex {
  readonly producer = new Map<string, Node>();
  readonly consumers = new Map<string, Node[]>();
  readonly constants = new Map<string, Tensor>();
  readonly inputs = new Set<string>();

  constructor(graph: onnxProto.onnx.IGraphProto) {
    for (const t of graph.initializer ?? []) if (t.name) this.constants.set(t.name, t);
    for (const i of graph.input ?? []) if (i.name && !this.constants.has(i.name)) this.inputs.add(i.name);
    for (const node of graph.node ?? []) {
      for (const out of node.output ?? []) this.producer.set(out, node);
      for (const inp of node.input ?? []) {
        if (inp === "") continue;
        const list = this.consumers.get(inp) ?? [];
        list.push(node);
        this.consumers.set(inp, list);
      }
      const value = attribute(node, "value")?.t;
      const out = node.output?.[0];
      if (node.opType === "Constant" && value && out) this.constants.set(out, value);
    }
  }

  /** Whether `name` is a constant (an initializer, or one behind Identity/Transpose), without decoding it. */
  isConstant(name: string): boolean {
    if (this.constants.has(name)) return true;
    const node = this.producer.get(name);
    const input = node?.input?.[0];
    if (input === undefined || (node?.opType !== "Identity" && node?.opType !== "Transpose")) return false;
    return this.isConstant(input);
  }

  /**
   * The constant value `name` holds, following Identity and Transpose nodes
   * back to an initializer; `transposed` says whether a Transpose was applied.
   */
  constant(name: string, where: string): { array: NamedArray; transposed: boolean } | undefined {
    const t = this.constants.get(name);
    if (t !== undefined) return { array: tensorArray(t, where), transposed: false };
    const node = this.producer.get(name);
    const input = node?.input?.[0];
    if (node === undefined || input === undefined) return undefined;
    if (node.opType === "Identity") return this.constant(input, where);
    if (node.opType === "Transpose") {
      const inner = this.constant(input, where);
      if (inner === undefined) return undefined;
      const perm = intsAttribute(node, "perm") ?? inner.array.shape.map((_, i, s) => s.length - 1 - i);
      return { array: transposeArray(inner.array, perm), transposed: true };
    }
    return undefined;
  }
}

/** Ops a conv's input may pass through from the previous conv without changing what VGG-16 computes. */
const PASS_THROUGH = new Set(["Relu", "MaxPool", "Identity", "Transpose", "Dropout", "Add"]);
/** Ops allowed between the image input and conv1_1: layout changes and an export's own preprocessing. */
const BEFORE_FIRST_CONV = new Set(["Transpose", "Identity", "Cast", "Sub", "Add", "Mul", "Div"]);

interface Trace {
  /** The Conv the data came from, or undefined for a graph input. */
  from: Node | undefined;
  ops: Node[];
}

/** Walks a data input back through `allowed` single-data-input ops to the previous Conv or a graph input. */
function traceBack(g: GraphIndex, value: string, allowed: ReadonlySet<string>): Trace | string {
  const ops: Node[] = [];
  let name = value;
  for (let hops = 0; hops < 64; hops++) {
    if (g.inputs.has(name)) return { from: undefined, ops };
    const node = g.producer.get(name);
    if (node === undefined) return `value ${name} has no producer`;
    if (node.opType === "Conv") return { from: node, ops };
    if (!allowed.has(node.opType ?? "")) return `it passes through a ${node.opType} node ${nodeLabel(node)}`;
    ops.push(node);
    // The data input is the one that is not a constant (Sub(x, mean) or Sub(mean, x)).
    const data = (node.input ?? []).filter((i) => i !== "" && !g.isConstant(i));
    const [next] = data;
    if (data.length !== 1 || next === undefined)
      return `${node.opType} node ${nodeLabel(node)} has ${data.length} non-constant inputs`;
    name = next;
  }
  return "the path is longer than 64 nodes";
}

function checkConvAttributes(node: Node, label: string): void {
  const bad = (what: string): never => {
    throw new Error(
      `${label}: Conv node ${nodeLabel(node)} ${what}; VGG-16 uses 3×3 stride-1 convolutions padded by 1`,
    );
  };
  const ones = (name: string): void => {
    const v = intsAttribute(node, name);
    if (v !== undefined && v.some((x) => x !== 1)) bad(`has ${name} [${v.join(",")}]`);
  };
  ones("strides");
  ones("dilations");
  const group = attribute(node, "group")?.i;
  if (group !== undefined && group !== null && Number(group) !== 1) bad(`has group ${Number(group)}`);
  const autoPad = stringAttribute(node, "auto_pad");
  const pads = intsAttribute(node, "pads");
  const same = autoPad === "SAME_UPPER" || autoPad === "SAME_LOWER";
  if (!same && (pads === undefined || pads.some((p) => p !== 1))) {
    bad(`pads [${pads?.join(",") ?? ""}]${autoPad ? ` (auto_pad ${autoPad})` : ""}`);
  }
}

/** The bias: the Conv's third input, or a following Add of a constant (exports that split BiasAdd off). */
function convBias(g: GraphIndex, node: Node, outChannels: number, where: string): NamedArray | undefined {
  const b = node.input?.[2];
  if (b !== undefined && b !== "") return g.constant(b, where)?.array;
  const out = node.output?.[0];
  const [next, ...others] = out === undefined ? [] : (g.consumers.get(out) ?? []);
  if (next?.opType !== "Add" || others.length > 0) return undefined;
  for (const input of next.input ?? []) {
    const c = input === out ? undefined : g.constant(input, where)?.array;
    if (c !== undefined && c.data.length === outChannels) return { shape: [outChannels], data: c.data };
  }
  return undefined;
}

function missingFrom(index: number): string {
  return VGG16_CONVS.slice(index)
    .map((c) => c.name)
    .join(", ");
}

export function decodeOnnxModel(bytes: Uint8Array, where: string): onnxProto.onnx.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new Error(`${where}: not an ONNX model (protobuf decoding failed: ${(err as Error).message})`, {
      cause: err,
    });
  }
}

/**
 * Finds VGG-16's ten convolutions up to relu4_3 in an ONNX model and returns
 * their weights in our HWIO layout. A model that is not VGG-16 fails with a
 * message naming the first layer that does not fit and the layers missing.
 */
export function readOnnxVgg16(bytes: Uint8Array, where: string): OnnxVgg16 {
  const model = decodeOnnxModel(bytes, where);
  const graph = model.graph;
  if (!graph || (graph.node ?? []).length === 0)
    throw new Error(`${where}: the ONNX model has no graph nodes; not VGG-16`);
  const g = new GraphIndex(graph);
  const convs = (graph.node ?? []).filter((n) => n.opType === "Conv");
  const notVgg = (index: number, why: string): Error =>
    new Error(
      `${where}: not VGG-16: ${
        index > 0
          ? `found ${VGG16_CONVS.slice(0, index)
              .map((c) => c.name)
              .join(", ")}, then `
          : ""
      }${why}. Missing: ${missingFrom(index)} (VGG-16 up to relu4_3 needs 10 convolutions: 64, 64 | 128, 128 | 256, 256, 256 | 512, 512, 512 filters of 3×3, max-pools between blocks)`,
    );

  const weights = new Map<VggConvName, ConvWeights>();
  const layouts = new Set<"OIHW" | "HWIO">();
  let inputLayout: OnnxVgg16Report["inputLayout"] = "NCHW";
  let preprocessing: string[] = [];
  VGG16_CONVS.forEach((conv, index) => {
    const node = convs[index];
    if (node === undefined) {
      throw notVgg(index, `the graph has no more Conv nodes (${convs.length} in all)`);
    }
    const label = `${where}: ${conv.name}`;
    const kernelName = node.input?.[1] ?? "";
    const kernel = g.constant(kernelName, where);
    if (kernel === undefined) throw notVgg(index, `Conv node ${nodeLabel(node)} has no constant kernel`);
    const want = [conv.outChannels, conv.inChannels, 3, 3];
    const shape = kernel.array.shape;
    if (shape.length !== 4 || shape.some((d, i) => d !== want[i])) {
      throw notVgg(
        index,
        `Conv node ${nodeLabel(node)} has kernel [${shape.join(",")}] where ${conv.name} needs OIHW [${want.join(",")}]`,
      );
    }
    checkConvAttributes(node, label);
    const bias = convBias(g, node, conv.outChannels, where);
    if (bias === undefined) throw notVgg(index, `Conv node ${nodeLabel(node)} has no constant bias`);

    const trace = traceBack(g, node.input?.[0] ?? "", index === 0 ? BEFORE_FIRST_CONV : PASS_THROUGH);
    if (typeof trace === "string")
      throw notVgg(
        index,
        `the input of Conv node ${nodeLabel(node)} does not come from ${index === 0 ? "the image input" : VGG16_CONVS[index - 1]?.name}: ${trace}`,
      );
    if (index === 0) {
      if (trace.from !== undefined) throw notVgg(0, `conv ${nodeLabel(node)} takes another conv's output`);
      if (
        trace.ops.some(
          (op) => op.opType === "Transpose" && intsAttribute(op, "perm")?.join(",") === "0,3,1,2",
        )
      ) {
        inputLayout = "NHWC";
      }
      preprocessing = trace.ops
        .filter((op) => !["Transpose", "Identity", "Cast"].includes(op.opType ?? ""))
        .map((op) => op.opType ?? "");
    } else {
      const prev = convs[index - 1];
      // An Add there is the previous conv's bias, when its Conv node has none (checked in convBias).
      const adds = trace.ops.filter((op) => op.opType === "Add");
      const prevBiasInNode = (prev?.input?.[2] ?? "") !== "";
      if (adds.length !== (prevBiasInNode ? 0 : 1)) {
        throw notVgg(
          index,
          `${adds.length} Add nodes lie between Conv nodes ${prev ? nodeLabel(prev) : ""} and ${nodeLabel(node)}`,
        );
      }
      const pools = trace.ops.filter((op) => op.opType === "MaxPool");
      const relus = trace.ops.filter((op) => op.opType === "Relu");
      const newBlock = conv.block !== VGG16_CONVS[index - 1]?.block;
      if (trace.from !== prev)
        throw notVgg(index, `Conv node ${nodeLabel(node)} does not take its input from the previous conv`);
      if (relus.length !== 1)
        throw notVgg(
          index,
          `${relus.length} ReLUs lie between Conv nodes ${prev ? nodeLabel(prev) : ""} and ${nodeLabel(node)}`,
        );
      if (pools.length !== (newBlock ? 1 : 0)) {
        throw notVgg(
          index,
          `${pools.length} max-pools lie before Conv node ${nodeLabel(node)}, VGG-16 has ${newBlock ? 1 : 0}`,
        );
      }
      for (const pool of pools) {
        const k = intsAttribute(pool, "kernel_shape")?.join(",");
        const s = intsAttribute(pool, "strides")?.join(",");
        if (k !== "2,2" || s !== "2,2")
          throw notVgg(
            index,
            `MaxPool ${nodeLabel(pool)} has kernel [${k}] strides [${s}], VGG-16's are 2×2 stride 2`,
          );
      }
    }
    layouts.add(kernel.transposed ? "HWIO" : "OIHW");
    const w: ConvWeights = { kernel: oihwToHwio(kernel.array), bias };
    checkConvWeights(conv, w, where);
    weights.set(conv.name, w);
  });

  const [onlyLayout] = layouts;
  return {
    weights,
    report: {
      producer: [model.producerName, model.producerVersion].filter(Boolean).join(" ") || "unknown",
      inputLayout,
      kernelLayout: layouts.size === 1 && onlyLayout ? onlyLayout : "mixed",
      convNodes: convs.slice(0, VGG16_CONVS.length).map((n) => n.name || (n.input?.[1] ?? "")),
      preprocessing,
      initializerNames: [...g.constants.keys()],
      totalConvs: convs.length,
    },
  };
}
