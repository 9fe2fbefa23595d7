#!/usr/bin/env bash
# Packs the train-step benchmark and the cross-engine test into
# .device/app.tar.xz for a GPU machine that has no npm and no internet: the TypeScript bundled
# by esbuild, the tfjs packages it loads at run time (only the files Node
# resolves), Dawn for Node (linux-x64) and the PyTorch reference script.
# bench/gpu/run.sh unpacks and runs it there. About 8 MB compressed; node
# itself travels beside it (.device/node.xz, see docs/benchmarks.md).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=.device/app
rm -rf "$out"
mkdir -p "$out/node_modules/@tensorflow" "$out/bench"

# The tfjs packages stay external: they are imported by name at run time
# (engines.ts), and a bundled copy of tfjs-core beside the external backends
# would be a second, separate tfjs.
npx esbuild bench/train-step.ts bench/dispatch-overhead.ts test/unit/trainer/engine-cross.test.ts \
  --bundle --platform=node --format=esm --target=node20 --outbase=. --outdir="$out" \
  --out-extension:.js=.mjs --log-level=warning \
  '--external:@tensorflow/*' --external:webgpu \
  "--banner:js=import { createRequire as __stylekubeRequire } from 'node:module'; const require = __stylekubeRequire(import.meta.url);"
cp -r bench/pytorch "$out/bench/pytorch"
rm -rf "$out/bench/pytorch/__pycache__"

for p in tfjs tfjs-core tfjs-backend-cpu tfjs-backend-wasm tfjs-backend-webgpu tfjs-layers tfjs-converter tfjs-data tfjs-backend-webgl; do
  src=node_modules/@tensorflow/$p
  main=$(node -p "require('./$src/package.json').main")
  mkdir -p "$out/node_modules/@tensorflow/$p/$(dirname "$main")"
  cp "$src/package.json" "$out/node_modules/@tensorflow/$p/"
  cp "$src/$main" "$out/node_modules/@tensorflow/$p/$main"
done
cp node_modules/@tensorflow/tfjs-backend-wasm/dist/*.wasm "$out/node_modules/@tensorflow/tfjs-backend-wasm/dist/"
# The threaded build's Node worker script (STYLEKUBE_WASM_THREADS > 1).
mkdir -p "$out/node_modules/@tensorflow/tfjs-backend-wasm/wasm-out"
cp node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/tfjs-backend-wasm-threaded-simd.{js,worker.js} "$out/node_modules/@tensorflow/tfjs-backend-wasm/wasm-out/"
for p in seedrandom long node-fetch whatwg-url tr46 webidl-conversions string_decoder safe-buffer; do
  cp -r "node_modules/$p" "$out/node_modules/$p"
done
mkdir -p "$out/node_modules/webgpu/dist/linux-x64"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js "$out/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$out/node_modules/webgpu/dist/linux-x64/"
tar -C .device -cf - app | xz -T0 -6 > .device/app.tar.xz
du -sh "$out" .device/app.tar.xz
