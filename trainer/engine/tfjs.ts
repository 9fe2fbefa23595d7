/**
 * The one place that makes tfjs usable for *training* under Node ESM.
 *
 * Import this module (for its side effects) before any tf.variableGrads or
 * optimizer call. Model and loss code imports ops from "@tensorflow/tfjs-core"
 * directly; this module only has to have been loaded once per process.
 *
 * Why not "@tensorflow/tfjs-core/dist/register_all_gradients.js": under Node
 * the package's `main` is the CommonJS bundle `tf-core.node.js`, which holds
 * the ops but neither the gradient registrations nor the chained ops. Their
 * files under dist/ are ES modules with extension-less and directory imports
 * (`./gradients`) in a package without `"type": "module"`, so Node's ESM
 * loader refuses them (ERR_UNSUPPORTED_DIR_IMPORT). The union package
 * `@tensorflow/tfjs` is tfjs's own answer for Node: its `tf.node.js` bundle
 * inlines those registrations and writes them into tfjs's process-wide
 * registries (kept on globalThis, so they apply to the tfjs-core copy the
 * backends use). Its other parts (layers, converter, data) are loaded but
 * not used; the webgl backend registers itself only in a browser.
 */
import "@tensorflow/tfjs-backend-cpu";
import "@tensorflow/tfjs";
import * as tf from "@tensorflow/tfjs-core";
import { MIRROR_PAD_GRAD } from "./mirror-pad-grad.js";

/**
 * The gradient of MirrorPad, corrected.
 *
 * tfjs 4.22's own gradient (tfjs-core/src/gradients/MirrorPad_grad.ts)
 * returns only the centre of dy, dropping what the reflected border pixels
 * contribute to the pixels they copy. Every ReflectConv of the
 * transformation network pads this way (4 pixels per side for the 9×9
 * convs), so its input gradients were wrong near every border on every
 * backend. Per padded axis with pads (lo, hi) over n positions, the border
 * slices of dy, reversed, are added back onto their source positions:
 * reflect maps padded index lo−1−k to k+1 and n+lo+k to n−2−k; symmetric to
 * k and n−1−k.
 */
export function mirrorPadGrad(
  dy: tf.Tensor,
  x: tf.Tensor,
  paddings: [number, number][],
  mode: string,
): tf.Tensor {
  const reflect = mode === "reflect";
  let g = dy;
  paddings.forEach(([lo, hi], axis) => {
    if (lo === 0 && hi === 0) return;
    const n = x.shape[axis] as number;
    const size = [...g.shape];
    const begin = size.map(() => 0);
    const part = (start: number, len: number): tf.Tensor => {
      begin[axis] = start;
      size[axis] = len;
      return tf.slice(g, [...begin], [...size]);
    };
    const padAxis = (t: tf.Tensor, before: number, after: number): tf.Tensor =>
      tf.pad(
        t,
        t.shape.map((_, i) => (i === axis ? [before, after] : [0, 0]) as [number, number]),
      );
    let sum = part(lo, n);
    if (lo > 0) {
      const left = tf.reverse(part(0, lo), axis);
      sum = tf.add(sum, reflect ? padAxis(left, 1, n - 1 - lo) : padAxis(left, 0, n - lo));
    }
    if (hi > 0) {
      const right = tf.reverse(part(lo + n, hi), axis);
      sum = tf.add(sum, reflect ? padAxis(right, n - 1 - hi, 1) : padAxis(right, n - hi, 0));
    }
    g = sum;
  });
  return g;
}

tf.registerGradient({
  kernelName: "MirrorPad",
  inputsToSave: ["x"],
  gradFunc: (dy, saved, attrs) => {
    const x = saved[0];
    if (x === undefined || Array.isArray(dy)) throw new Error("MirrorPad gradient: unexpected inputs");
    const { paddings, mode } = attrs as unknown as { paddings: [number, number][]; mode: string };
    // One kernel where a backend has it (cpu, wasm: mirror-pad-grad.ts), else tfjs ops.
    return {
      x: () =>
        tf.getKernel(MIRROR_PAD_GRAD, tf.getBackend()) !== undefined
          ? (tf.engine().runKernel(MIRROR_PAD_GRAD, { dy }, {
              paddings,
              mode,
              inputShape: x.shape,
            } as unknown as tf.NamedAttrMap) as tf.Tensor)
          : mirrorPadGrad(dy, x, paddings, mode),
    };
  },
});
