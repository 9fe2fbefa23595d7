// GraphBuilder → ONNX ModelProto bytes, with the protobuf schema of the
// onnx-proto package (generated from onnx.proto, IR version 8, which carries
// opset 18).
import onnxProto from "onnx-proto";
import { type Attribute, type ElementType, type GraphBuilder, OPSET, type Shape } from "./graph.js";

const { onnx } = onnxProto;

const ELEMENT_TYPE: Record<ElementType, number> = {
  float32: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
};

function attributeProto(name: string, a: Attribute): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.kind) {
    case "int":
      return { name, type: T.INT, i: a.value };
    case "ints":
      return { name, type: T.INTS, ints: [...a.value] };
    case "float":
      return { name, type: T.FLOAT, f: a.value };
    case "floats":
      return { name, type: T.FLOATS, floats: [...a.value] };
    case "string":
      return { name, type: T.STRING, s: new TextEncoder().encode(a.value) };
  }
}

function typeProto(type: ElementType, shape: Shape): onnxProto.onnx.ITypeProto {
  return {
    tensorType: {
      elemType: ELEMENT_TYPE[type],
      shape: {
        dim: shape.map((d) =>
          typeof d === "number" ? { dimValue: d } : typeof d === "string" ? { dimParam: d } : {},
        ),
      },
    },
  };
}

export interface ModelMetadata {
  producer: string;
  producerVersion: string;
  docString?: string;
  /** Free-form key/value pairs stored in the model (metadata_props). */
  properties?: Record<string, string>;
}

/** The ONNX file of a graph. Little-endian raw data, as ONNX requires. */
export function serializeModel(graph: GraphBuilder, meta: ModelMetadata): Uint8Array {
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 8,
    opsetImport: [{ domain: "", version: OPSET }],
    producerName: meta.producer,
    producerVersion: meta.producerVersion,
    docString: meta.docString ?? "",
    metadataProps: Object.entries(meta.properties ?? {}).map(([key, value]) => ({ key, value })),
    graph: {
      name: graph.name,
      node: graph.nodes.map((n, i) => ({
        name: `${n.op}_${i}`,
        opType: n.op,
        input: [...n.inputs],
        output: [...n.outputs],
        attribute: Object.entries(n.attributes).map(([k, a]) => attributeProto(k, a)),
      })),
      initializer: [...graph.initializers.values()].map((t) => ({
        name: t.name,
        dataType: ELEMENT_TYPE[t.type],
        dims: [...t.dims],
        rawData: new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
      })),
      input: graph.inputs.map((v) => ({ name: v.name, type: typeProto(v.type, v.shape) })),
      output: graph.outputs.map((v) => ({ name: v.name, type: typeProto(v.type, v.shape) })),
    },
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
