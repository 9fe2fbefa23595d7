#!/usr/bin/env bash
# Runs on a GPU machine without npm or internet, from the repository root,
# with .device/ (node.xz and app.tar.xz from bench/gpu/pack.sh) and the
# Vulkan loader packages in .gl/ beside it (docs/benchmarks.md says how to
# get them). Runs the cross-engine test (webgpu and wasm against cpu) and
# the train-step benchmark (webgpu with our and with tfjs's stock
# convolution gradients, wasm, PyTorch on CPU and CUDA), writing logs to
# $OUT (default ./gpu-out).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/gpu-out}
mkdir -p "$out" /tmp/stylekube-gpu
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
xz -dc .device/node.xz > /tmp/stylekube-gpu/node && chmod +x /tmp/stylekube-gpu/node
export PATH=/tmp/stylekube-gpu:$PATH XDG_RUNTIME_DIR=/tmp
for icd in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; break; fi
done
tar -C /tmp/stylekube-gpu -xJf .device/app.tar.xz
cd /tmp/stylekube-gpu/app
{ date -u; nvidia-smi -L; ls ~/.cache/torch/hub/checkpoints ~/.cache/huggingface/hub 2>&1 | head; timeout 20 find / -xdev -iname '*vgg*' 2>/dev/null | grep -v -E '\.pyc?$' | head; nproc; node -v; python3 -c 'import torch; print("torch", torch.__version__)'; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"; } 2>&1 | tee "$out/machine.txt"
quiet() { grep -v '^{"level"'; }

echo "== cross-engine test"
timeout 120 node test/unit/trainer/engine-cross.test.mjs 2>&1 | tee "$out/cross-engine.log" | quiet | grep -E 'not ok|^ok|^#|relative error|ms per gradient|worst' | head -40

echo "== train-step: webgpu (ours vs stock kernels) with PyTorch CUDA"
timeout 180 node bench/train-step.mjs --engines webgpu,webgpu-stock --sizes 128x1,256x4 --profile --no-pytorch-cpu 2>&1 | tee "$out/train-step-gpu.log" | quiet

for batch in 64 512; do
  echo "== train-step: webgpu, $batch dispatches per queue submit"
  STYLEKUBE_WEBGPU_SUBMIT_BATCH=$batch timeout 70 node bench/train-step.mjs --engines webgpu --sizes 128x1,256x4 --no-pytorch 2>&1 | tee "$out/train-step-submit$batch.log" | quiet | grep -E '^webgpu [0-9]'
done

echo "== train-step: wasm, 8 threads"
STYLEKUBE_WASM_THREADS=8 timeout 60 node bench/train-step.mjs --engines wasm --sizes 128x1 --no-pytorch 2>&1 | tee "$out/train-step-wasm8.log" | quiet | tail -2
