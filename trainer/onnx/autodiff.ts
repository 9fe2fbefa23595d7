// Reverse-mode differentiation of a GraphBuilder's graph: appends to the same
// graph the nodes that compute ∂loss/∂v for each requested value v, by the
// per-op rules of gradient-rules.ts. Only nodes on a path from a requested
// value to the loss are differentiated; the content-image branch of VGG-16,
// for example, gets no backward nodes.
import type { GraphBuilder } from "../../model/onnx/graph.js";
import * as ops from "../../model/onnx/ops.js";
import { RULES } from "./gradient-rules.js";

/** What the caller can supply instead of nodes the rules would append. */
export interface GradientOptions {
  /** See RuleContext.flippedKernel. */
  flippedKernel?: (kernel: string) => string | undefined;
}

/**
 * Appends the backward pass of `loss` (a scalar) and returns, for each name
 * in `wrt`, the value holding its gradient (same shape as the value).
 */
export function appendGradients(
  g: GraphBuilder,
  loss: string,
  wrt: readonly string[],
  options: GradientOptions = {},
): Map<string, string> {
  const forward = [...g.nodes];
  // Forward sweep: which values depend on any of wrt.
  const active = new Set(wrt);
  for (const node of forward) {
    if (node.inputs.some((i) => active.has(i))) for (const o of node.outputs) active.add(o);
  }
  if (!active.has(loss)) throw new Error(`the loss ${loss} depends on none of the values asked for`);

  const contributions = new Map<string, string[]>();
  const push = (value: string, grad: string) => {
    const list = contributions.get(value);
    if (list) list.push(grad);
    else contributions.set(value, [grad]);
  };
  /** The total gradient of a value: the sum of its contributions (added pairwise). */
  const total = (value: string): string | undefined => {
    const list = contributions.get(value);
    if (list === undefined || list.length === 0) return undefined;
    const sum = list.reduce((acc, gr) => ops.add(g, acc, gr));
    contributions.set(value, [sum]);
    return sum;
  };
  push(loss, g.scalar(1));

  for (let k = forward.length - 1; k >= 0; k--) {
    const node = forward[k]!;
    const out = node.outputs[0];
    if (out === undefined || !active.has(out)) continue;
    const dy = total(out);
    if (dy === undefined) continue;
    const rule = RULES[node.op];
    if (rule === undefined) throw new Error(`no gradient rule for ONNX op ${node.op}`);
    const needs = (i: number) => {
      const name = node.inputs[i];
      return name !== undefined && name !== "" && active.has(name);
    };
    const grads = rule({ g, node, dy, needs, flippedKernel: options.flippedKernel ?? (() => undefined) });
    grads.forEach((grad, i) => {
      if (grad !== undefined && needs(i)) push(node.inputs[i]!, grad);
    });
  }

  const out = new Map<string, string>();
  for (const v of wrt) {
    const grad = total(v);
    if (grad === undefined) throw new Error(`the loss does not depend on ${v}`);
    out.set(v, grad);
  }
  return out;
}
