// The image transformation network of Johnson et al. 2016 (supplementary
// material, style transfer), as data:
//
//   c9s1-32 → d64 → d128 → 5 × R128 → u64 → u32 → c9s1-3 → scaled tanh
//
// The tfjs network (transformer-net.ts), its ONNX graph
// (onnx/transformer-net-graph.ts, shared by the exported model and the
// training step) and the parameter count are all built from TRANSFORMER_NET
// and the constants here: a change of the architecture is one edit.
//
// Every conv except the last is followed by normalisation and ReLU; each
// conv reflection-pads its own input (the common equivalent of the paper's
// 40-pixel reflection padding plus valid convs). Fully convolutional: any
// H×W that is a multiple of 4 maps to the same H×W.

// The two variants' vocabularies are the API's (instance or batch norm;
// upsample-then-conv or transposed convs).
export type { Normalization, Upsampling } from "../common/api/index.js";

/** Numerical floor inside the normalisation's square root (PyTorch's default). */
export const NORM_EPSILON = 1e-5;
/** Weight of the newest batch in batch norm's running statistics (PyTorch's default). */
export const BATCH_NORM_MOMENTUM = 0.1;
/** The residual blocks between downsampling and upsampling. */
export const RESIDUAL_BLOCKS = 5;
/** Kernel of the upsampling convs (either upsampling mode). */
export const UP_KERNEL = 3;
/** Kernel of the residual blocks' two convs. */
export const RESIDUAL_KERNEL = 3;

/**
 * One stage, named as its parameters are prefixed:
 * - `conv`: reflection-padded conv (`<name>.conv`), norm (`<name>.norm`), ReLU;
 * - `residual`: x + norm2(conv2(ReLU(norm1(conv1(x))))), RESIDUAL_KERNEL convs (`<name>.conv1` …);
 * - `up`: ×2 upsampling conv (`<name>.conv`, UP_KERNEL), norm, ReLU;
 * - `output`: reflection-padded conv (`<name>.conv`), then the scaled tanh.
 */
export type Stage =
  | { kind: "conv"; name: string; in: number; out: number; kernel: number; stride: number }
  | { kind: "residual"; name: string; channels: number }
  | { kind: "up"; name: string; in: number; out: number }
  | { kind: "output"; name: string; in: number; out: number; kernel: number };

export const TRANSFORMER_NET: readonly Stage[] = [
  { kind: "conv", name: "conv1", in: 3, out: 32, kernel: 9, stride: 1 }, // c9s1-32
  { kind: "conv", name: "down1", in: 32, out: 64, kernel: 3, stride: 2 }, // d64
  { kind: "conv", name: "down2", in: 64, out: 128, kernel: 3, stride: 2 }, // d128
  ...Array.from({ length: RESIDUAL_BLOCKS }, (_, i): Stage => ({
    kind: "residual",
    name: `res${i + 1}`,
    channels: 128,
  })), // R128
  { kind: "up", name: "up1", in: 128, out: 64 }, // u64
  { kind: "up", name: "up2", in: 64, out: 32 }, // u32
  { kind: "output", name: "out", in: 32, out: 3, kernel: 9 }, // c9s1-3
];

/**
 * The trainable parameter count, from the architecture alone (no tensors).
 * The same for both normalisations (γ, β per channel; batch norm's running
 * statistics are state, not parameters) and both upsampling modes (a 3×3
 * kernel between the same channel counts either way).
 */
export function transformerNetParameterCount(stages: readonly Stage[] = TRANSFORMER_NET): number {
  const conv = (cin: number, cout: number, k: number): number => k * k * cin * cout + cout;
  const norm = (c: number): number => 2 * c;
  let count = 0;
  for (const s of stages) {
    switch (s.kind) {
      case "conv":
        count += conv(s.in, s.out, s.kernel) + norm(s.out);
        break;
      case "residual":
        count += 2 * (conv(s.channels, s.channels, RESIDUAL_KERNEL) + norm(s.channels));
        break;
      case "up":
        count += conv(s.in, s.out, UP_KERNEL) + norm(s.out);
        break;
      case "output":
        count += conv(s.in, s.out, s.kernel);
        break;
    }
  }
  return count;
}
