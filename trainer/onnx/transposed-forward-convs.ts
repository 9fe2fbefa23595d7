// The forward convs with a large kernel and fewer output than input channels
// (the network's last 9×9 conv, 32 → 3) run as the ConvTranspose of their
// flipped kernel, which the step already takes as an input for their input
// gradient: the same values (a stride-1 Conv with W is the ConvTranspose with
// W flipped in space and in/out swapped, its output cropped by k − 1 − p).
// ONNX Runtime's CPU provider runs such a Conv as an im2col of C·k² rows
// (2 592 for 32 channels at 9×9) feeding a GEMM of M = 3 rows, and the
// ConvTranspose as one GEMM of M·k² = 243 rows over the 32 channels and a
// col2im: 1.7–1.9× faster for this layer (docs/onnx-training.md).
//
// Applied after the backward pass is built, so the gradient rules still see
// the Conv of the parameter itself.
import { attr, type GraphBuilder, type GraphNode } from "../../model/onnx/graph.js";
import { IM2COL_MAX_TAPS } from "./conv-filter-gradient.js";

/** Rewrites each such Conv in place; `flipped` maps a kernel to its flipped input. Returns how many. */
export function runNarrowConvsTransposed(g: GraphBuilder, flipped: ReadonlyMap<string, string>): number {
  let rewritten = 0;
  g.nodes.forEach((node, i) => {
    const replacement = transposedForm(g, node, flipped);
    if (replacement === undefined) return;
    g.nodes[i] = replacement;
    rewritten++;
  });
  return rewritten;
}

function transposedForm(
  g: GraphBuilder,
  node: GraphNode,
  flipped: ReadonlyMap<string, string>,
): GraphNode | undefined {
  if (node.op !== "Conv") return undefined;
  const [x, w, bias] = node.inputs;
  const kernel = flipped.get(w!);
  if (kernel === undefined) return undefined;
  const [m, c, kh, kw] = g.staticShape(w!);
  const unit = (key: string) => {
    const a = node.attributes[key];
    return a === undefined || (a.kind === "ints" && a.value.every((v) => v === 1));
  };
  const group = node.attributes.group;
  const grouped = group !== undefined && group.kind === "int" && group.value !== 1;
  if (kh! * kw! <= IM2COL_MAX_TAPS || m! >= c! || grouped || !unit("strides") || !unit("dilations"))
    return undefined;
  const pads = node.attributes.pads;
  const [pt, pl, pb, pr] = pads !== undefined && pads.kind === "ints" ? pads.value : [0, 0, 0, 0];
  return {
    op: "ConvTranspose",
    inputs: bias === undefined ? [x!, kernel] : [x!, kernel, bias],
    outputs: node.outputs,
    attributes: {
      strides: attr.ints([1, 1]),
      dilations: attr.ints([1, 1]),
      pads: attr.ints([kh! - 1 - pt!, kw! - 1 - pl!, kh! - 1 - pb!, kw! - 1 - pr!]),
      output_padding: attr.ints([0, 0]),
    },
  };
}
