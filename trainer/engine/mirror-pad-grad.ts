import * as tf from "@tensorflow/tfjs-core";

/**
 * The gradient of MirrorPad as one kernel on the cpu and wasm backends.
 *
 * Written with tfjs ops (tfjs.ts, used on the other backends) it is a
 * slice, a reverse, a pad and an add per padded side: ~18 kernels for each
 * of the network's 16 reflection paddings, ~290 per training step. Here it
 * is one pass that adds every element of dy into the input element it was
 * copied from. Attributes: the MirrorPad's paddings and mode, and the
 * input's shape.
 */
export const MIRROR_PAD_GRAD = "StylekubeMirrorPadGrad";

export interface MirrorPadGradAttrs {
  paddings: [number, number][];
  mode: "reflect" | "symmetric";
  inputShape: number[];
}

/** For each index along a padded axis, the input index it copies. */
function sourceIndex(lo: number, n: number, padded: number, reflect: boolean): Int32Array {
  return Int32Array.from({ length: padded }, (_, p) => {
    const i = p - lo;
    if (i < 0) return reflect ? -i : -i - 1;
    if (i >= n) return reflect ? 2 * (n - 1) - i : 2 * n - 1 - i;
    return i;
  });
}

/**
 * dx[src(p)] += dy[p] for a rank-4 tensor, reading dy from `dy` at
 * `dyOff` and adding into `dx` at `dxOff` (which must start zeroed).
 */
export function foldMirrorPad(
  dy: Float32Array,
  dyOff: number,
  dx: Float32Array,
  dxOff: number,
  a: MirrorPadGradAttrs,
): void {
  const shape = a.inputShape;
  if (shape.length !== 4) throw new Error(`${MIRROR_PAD_GRAD}: rank 4 only, got ${shape.length}`);
  const reflect = a.mode === "reflect";
  const [, n1, n2, n3] = shape as [number, number, number, number];
  const padded = shape.map((n, axis) => n + (a.paddings[axis]?.[0] ?? 0) + (a.paddings[axis]?.[1] ?? 0));
  const [p0, p1, p2, p3] = padded as [number, number, number, number];
  const [s0, s1, s2, s3] = shape.map((n, axis) =>
    sourceIndex(a.paddings[axis]?.[0] ?? 0, n, padded[axis] as number, reflect),
  ) as [Int32Array, Int32Array, Int32Array, Int32Array];
  const channelsPadded = p3 !== n3;
  let d = dyOff;
  for (let i0 = 0; i0 < p0; i0++) {
    const b0 = (s0[i0] as number) * n1;
    for (let i1 = 0; i1 < p1; i1++) {
      const b1 = (b0 + (s1[i1] as number)) * n2;
      for (let i2 = 0; i2 < p2; i2++) {
        const base = dxOff + (b1 + (s2[i2] as number)) * n3;
        if (channelsPadded) {
          for (let i3 = 0; i3 < p3; i3++, d++) {
            const k = base + (s3[i3] as number);
            dx[k] = (dx[k] as number) + (dy[d] as number);
          }
        } else {
          for (let i3 = 0; i3 < n3; i3++, d++) dx[base + i3] = (dx[base + i3] as number) + (dy[d] as number);
        }
      }
    }
  }
}

type KernelFunc = tf.KernelConfig["kernelFunc"];

interface CpuBackend {
  data: { get(dataId: tf.DataId): { values: tf.backend_util.BackendValues } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

const cpuMirrorPadGrad: KernelFunc = (args) => {
  const backend = args.backend as unknown as CpuBackend;
  const dy = args.inputs["dy"];
  if (dy === undefined) throw new Error(`${MIRROR_PAD_GRAD} needs dy`);
  const a = args.attrs as unknown as MirrorPadGradAttrs;
  const dx = new Float32Array(a.inputShape.reduce((m, n) => m * n, 1));
  foldMirrorPad(backend.data.get(dy.dataId).values as Float32Array, 0, dx, 0, a);
  return backend.makeTensorInfo([...a.inputShape], "float32", dx);
};

interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

const wasmMirrorPadGrad: KernelFunc = (args) => {
  const backend = args.backend as unknown as WasmBackend;
  const dy = args.inputs["dy"];
  if (dy === undefined) throw new Error(`${MIRROR_PAD_GRAD} needs dy`);
  const a = args.attrs as unknown as MirrorPadGradAttrs;
  const dx = backend.makeOutput([...a.inputShape], "float32");
  // A fresh view after the allocation: the heap may have grown.
  const heap = new Float32Array(backend.wasm.HEAPU8.buffer);
  const offset = (t: tf.TensorInfo): number => {
    const d = backend.dataIdMap.get(t.dataId);
    if (d === undefined) throw new Error(`${MIRROR_PAD_GRAD}: tensor data not found on the wasm backend`);
    return d.memoryOffset >>> 2;
  };
  const dxOff = offset(dx);
  heap.fill(0, dxOff, dxOff + a.inputShape.reduce((m, n) => m * n, 1));
  foldMirrorPad(heap, offset(dy), heap, dxOff, a);
  return dx;
};

/** Registers the one-pass MirrorPad gradient for `backend` ("cpu" or "wasm"); idempotent. */
export function registerMirrorPadGrad(backend: "cpu" | "wasm"): void {
  if (tf.getKernel(MIRROR_PAD_GRAD, backend) !== undefined) return;
  tf.registerKernel({
    kernelName: MIRROR_PAD_GRAD,
    backendName: backend,
    kernelFunc: backend === "cpu" ? cpuMirrorPadGrad : wasmMirrorPadGrad,
  });
}
