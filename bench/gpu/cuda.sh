#!/usr/bin/env bash
# One command on a machine with an NVIDIA GPU (driver r580 or newer: the
# PyPI onnxruntime-gpu of onnxruntime-node's version is built for CUDA 13),
# from the repository root with node_modules installed: proves ONNX
# Runtime's CUDA provider trains here and measures its step.
#   bash bench/gpu/cuda.sh          logs and results in $OUT (default ./gpu-out)
# The provider and CUDA libraries: STYLEKUBE_CUDA_DIR, a folder that
# images/cuda-libs.sh made (copy it from a machine with PyPI), else
# images/cuda-libs.sh itself (PyPI, ≈1.6 GB once). The provider is linked
# beside onnxruntime-node's binding in node_modules (where ORT looks, as in
# the -cuda images) and left there; LD_LIBRARY_PATH gets the CUDA libraries.
# Steps, each logged to $OUT:
#   1. nvidia-smi and the driver version;
#   2. `stylekube doctor --json`: onnxruntime cuda must be ok and the fastest;
#   3. engine auto as a training worker chooses it (onnxruntime cuda);
#   4. the training step on CUDA against the tfjs cpu engine: the four loss
#      terms and all 62 gradients (test/unit/trainer/onnx/step-vs-cpu.test.ts,
#      whose cuda suite runs where the provider starts);
#   5. the train-step benchmark: onnxruntime cuda and cpu at 128x1, 256x4 and
#      256x16 (and PyTorch on CUDA where torch is installed), one JSON line each.
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${OUT:-$PWD/gpu-out}
mkdir -p "$out"
fail=0
step() { printf '\n== %s\n' "$*" | tee -a "$out/summary.txt"; }

step "1. GPU and driver"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv; nproc; node -v; } 2>&1 | tee "$out/machine.txt"
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
if [[ -z "$driver" ]]; then echo "no NVIDIA GPU or driver (nvidia-smi)" | tee -a "$out/summary.txt"; exit 2; fi
if (( ${driver%%.*} < 580 )); then
  echo "driver $driver is older than CUDA 13 needs (r580): expect CUDA error 35" | tee -a "$out/summary.txt"
fi

cuda=${STYLEKUBE_CUDA_DIR:-$(bash images/cuda-libs.sh)}
bin=node_modules/onnxruntime-node/bin/napi-v6/linux/x64
for f in "$cuda"/onnxruntime/*.so; do ln -sf "$f" "$bin/"; done
export LD_LIBRARY_PATH="$cuda/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
echo "provider: $(ls "$bin" | grep providers | tr '\n' ' '); LD_LIBRARY_PATH=$LD_LIBRARY_PATH" | tee -a "$out/summary.txt"

step "2. stylekube doctor"
npx tsx cli/main.ts doctor --json >"$out/doctor.json" 2>"$out/doctor.log"
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const c = r.checks.find((x) => x.provider === "cuda");
  console.log("onnxruntime cuda:", c.status, "-", c.detail, "| fastest:", JSON.stringify(r.fastest));
  process.exit(c.status === "ok" && r.fastest.provider === "cuda" ? 0 : 1);
' "$out/doctor.json" | tee -a "$out/summary.txt" || fail=1

step "3. engine auto in a training process"
npx tsx -e '
  (async () => {
    const { initEngine } = await import("./trainer/engine/engines.ts");
    const e = await initEngine("auto");
    console.log("auto chose", e.engine, e.provider ?? "");
    process.exit(e.engine === "onnxruntime" && e.provider === "cuda" ? 0 : 1);
  })();
' 2>"$out/auto.log" | tee -a "$out/summary.txt" || fail=1

step "4. the training step on CUDA against the tfjs cpu engine"
timeout 900 npx tsx test/run.ts test/unit/trainer/onnx/step-vs-cpu.test.ts >"$out/step-vs-cpu.log" 2>&1 || fail=1
grep -E "^(✔|✖|﹣).*provider|passed|failed" "$out/step-vs-cpu.log" | tee -a "$out/summary.txt"
grep -q "✔ onnxruntime training step (cuda provider)" "$out/step-vs-cpu.log" || { echo "the cuda suite did not pass" | tee -a "$out/summary.txt"; fail=1; }

step "5. train-step benchmark"
timeout 1200 npx tsx bench/train-step.ts --engines onnxruntime-cuda,onnxruntime-cpu --sizes 128x1,256x4,256x16 --no-pytorch-cpu \
  >"$out/train-step.log" 2>&1 || fail=1
grep -vE '^\{"level"' "$out/train-step.log" | tail -25 | tee -a "$out/summary.txt"

step "done: $([[ $fail == 0 ]] && echo "CUDA trains here" || echo "FAILED, see $out")"
exit $fail
