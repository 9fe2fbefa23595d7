// A small typed IR for ONNX graphs: nodes, initialisers and value infos whose
// dimensions are numbers (static) or names (symbolic, e.g. "height"). The
// forward graph of the transformer network (exported for serving) and the
// training graph (forward + reverse-mode backward, trainer/onnx/) are both
// built with it; serialize.ts turns it into an ONNX ModelProto.
//
// Every value's shape is tracked as far as it is known: a training graph has
// static shapes throughout (its reverse-mode rules need them, e.g. to sum a
// broadcast gradient back to an operand's shape); an exported graph has
// symbolic height and width, and shapes that depend on them become unknown.

/** A dimension: a size, a symbolic name, or null when not known at build time. */
export type Dim = number | string | null;
export type Shape = readonly Dim[];
export type ElementType = "float32" | "int64";

export type Attribute =
  | { kind: "int"; value: number }
  | { kind: "ints"; value: readonly number[] }
  | { kind: "float"; value: number }
  | { kind: "floats"; value: readonly number[] }
  | { kind: "string"; value: string };

export const attr = {
  int: (value: number): Attribute => ({ kind: "int", value }),
  ints: (value: readonly number[]): Attribute => ({ kind: "ints", value }),
  float: (value: number): Attribute => ({ kind: "float", value }),
  floats: (value: readonly number[]): Attribute => ({ kind: "floats", value }),
  string: (value: string): Attribute => ({ kind: "string", value }),
};

export interface GraphNode {
  op: string;
  inputs: readonly string[];
  outputs: readonly string[];
  attributes: Readonly<Record<string, Attribute>>;
}

export interface Initializer {
  name: string;
  type: ElementType;
  dims: readonly number[];
  data: Float32Array | BigInt64Array;
}

export interface ValueInfo {
  name: string;
  type: ElementType;
  shape: Shape;
}

/** The opset every graph of the project is written for (ReduceMean/ReduceSum take axes as an input). */
export const OPSET = 18;

export function staticShape(shape: Shape, what: string): number[] {
  return shape.map((d, i) => {
    if (typeof d !== "number") throw new Error(`${what}: dimension ${i} is not static (${String(d)})`);
    return d;
  });
}

export function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Builds one graph. Values are named strings; `op` appends a node and
 * records the output's shape when the caller gives it (ops.ts computes
 * them). Names are unique per builder.
 */
export class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, Initializer>();
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  /** Shape and type of every value whose shape is known. */
  readonly values = new Map<string, ValueInfo>();
  private counter = 0;
  private readonly int64Cache = new Map<string, string>();
  private readonly scalarCache = new Map<number, string>();

  constructor(readonly name: string) {}

  /** A fresh value name with a readable stem. */
  fresh(stem: string): string {
    return `${stem}__${this.counter++}`;
  }

  input(name: string, shape: Shape, type: ElementType = "float32"): string {
    this.declare(name, shape, type);
    this.inputs.push({ name, type, shape });
    return name;
  }

  output(name: string): void {
    const info = this.values.get(name);
    if (info === undefined) throw new Error(`graph ${this.name}: no value ${name} to output`);
    this.outputs.push(info);
  }

  /** An output under a chosen public name (an Identity node when the value has another name). */
  namedOutput(value: string, name: string, shape?: Shape): string {
    const out = value === name ? value : this.op("Identity", [value], {}, this.shape(value), name);
    if (shape !== undefined) this.values.set(out, { name: out, type: this.type(value), shape });
    this.output(out);
    return out;
  }

  initializer(name: string, data: Float32Array | BigInt64Array, dims: readonly number[]): string {
    if (sizeOf([...dims]) !== data.length) {
      throw new Error(`initializer ${name}: ${data.length} values for dims [${dims.join(",")}]`);
    }
    if (this.initializers.has(name) || this.values.has(name)) throw new Error(`duplicate value ${name}`);
    const type: ElementType = data instanceof Float32Array ? "float32" : "int64";
    this.initializers.set(name, { name, type, dims: [...dims], data });
    this.declare(name, dims, type);
    return name;
  }

  /** A 1-D int64 constant (axes, shapes, pads, slice bounds), shared by every use of the same values. */
  int64s(values: readonly number[]): string {
    const key = values.join(",");
    let name = this.int64Cache.get(key);
    if (name === undefined) {
      name = this.initializer(this.fresh("i64"), BigInt64Array.from(values.map(BigInt)), [values.length]);
      this.int64Cache.set(key, name);
    }
    return name;
  }

  /** A float32 scalar constant (rank 0), shared by every use of the same value. */
  scalar(value: number): string {
    let name = this.scalarCache.get(value);
    if (name === undefined) {
      name = this.initializer(this.fresh("f32"), Float32Array.of(value), []);
      this.scalarCache.set(value, name);
    }
    return name;
  }

  /**
   * Appends a node with one output and returns the output's name.
   * @param shape the output's shape if known (ops.ts computes it).
   */
  op(
    op: string,
    inputs: readonly string[],
    attributes: Record<string, Attribute> = {},
    shape?: Shape,
    name?: string,
  ): string {
    const out = name ?? this.fresh(op.toLowerCase());
    this.node(op, inputs, [out], attributes);
    if (shape !== undefined) this.declare(out, shape, this.outputType(op, inputs));
    return out;
  }

  /** Appends a node with several outputs (named by the caller). */
  node(op: string, inputs: readonly string[], outputs: readonly string[], attributes = {}): void {
    for (const i of inputs) {
      if (i !== "" && !this.values.has(i) && !this.produced.has(i)) {
        throw new Error(`graph ${this.name}: ${op} reads ${i}, which nothing produces`);
      }
    }
    for (const o of outputs) this.produced.add(o);
    this.nodes.push({ op, inputs: [...inputs], outputs: [...outputs], attributes });
  }

  private readonly produced = new Set<string>();

  declare(name: string, shape: Shape, type: ElementType = "float32"): void {
    this.produced.add(name);
    this.values.set(name, { name, type, shape: [...shape] });
  }

  shape(name: string): Shape {
    const info = this.values.get(name);
    if (info === undefined) throw new Error(`graph ${this.name}: shape of ${name} is not known`);
    return info.shape;
  }

  staticShape(name: string): number[] {
    return staticShape(this.shape(name), name);
  }

  type(name: string): ElementType {
    return this.values.get(name)?.type ?? "float32";
  }

  private outputType(op: string, inputs: readonly string[]): ElementType {
    if (op === "Shape" || op === "ArgMax") return "int64";
    if (op === "Cast") return "float32";
    const first = inputs[0];
    return first === undefined ? "float32" : this.type(first);
  }
}
