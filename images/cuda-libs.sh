#!/usr/bin/env bash
# ONNX Runtime's CUDA execution provider for onnxruntime-node, from PyPI
# wheels only (no CUDA toolkit, no NVIDIA apt repository):
#   - libonnxruntime_providers_cuda.so and libonnxruntime_providers_shared.so
#     from onnxruntime-gpu of the same version as onnxruntime-node;
#   - the CUDA runtime, cuBLAS, cuFFT, cuRAND, NVRTC, nvJitLink and cuDNN
#     libraries it loads, from NVIDIA's nvidia-* wheels.
# onnxruntime-gpu 1.30.0 is built against CUDA 13.0 (its build_and_package_info
# says so; its provider needs libcudart.so.13 and libcublas.so.13), so the
# CUDA wheels are the 13.0 ones and the node's NVIDIA driver must be r580 or
# newer. libcuda.so.1 is the driver's own library: never shipped, the NVIDIA
# container runtime mounts the node's into the container.
#
#   images/cuda-libs.sh [OUT]     OUT (default ~/.cache/stylekube/cuda/<key>) gets
#     OUT/onnxruntime/  the two provider libraries, to lie beside onnxruntime-node's
#                       libonnxruntime.so.1 (bin/napi-v6/linux/x64), where ORT looks
#     OUT/lib/          the CUDA libraries, for LD_LIBRARY_PATH (dlopen, too,
#                       searches it: ORT opens cuDNN and cuFFT only when needed)
#   and prints OUT on its last line. The image build (images/build.sh --gpu)
#   copies it into the GPU images; the test of those images checks the same
#   folder. Wheels are verified by SHA-256 and kept in ~/.cache/stylekube/cuda/wheels;
#   an OUT that is complete (its .complete marker) is reused.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${STYLEKUBE_CUDA_CACHE:-$HOME/.cache/stylekube/cuda}"
log() { printf '[cuda-libs] %s\n' "$*" >&2; }

ORT_VERSION="$(node -p 'require(process.argv[1]).version' "$ROOT/node_modules/onnxruntime-node/package.json")"
# Pinned by version and hash (pip --require-hashes). onnxruntime-gpu must
# match onnxruntime-node: the provider bridge between libonnxruntime.so and
# the provider library is not stable across versions.
declare -A ORT_GPU_SHA256=(
  [1.30.0]=6acc0f4b3d5ac5f2984432faa59dd8fcce6775f8b43a7140afa0f322c7a703b1
)
[[ -n "${ORT_GPU_SHA256[$ORT_VERSION]:-}" ]] || {
  log "onnxruntime-node $ORT_VERSION: no pinned onnxruntime-gpu wheel of that version in images/cuda-libs.sh (add its hash)"
  exit 2
}
REQUIREMENTS="onnxruntime-gpu==$ORT_VERSION --hash=sha256:${ORT_GPU_SHA256[$ORT_VERSION]}
nvidia-cuda-runtime==13.0.96 --hash=sha256:7f82250d7782aa23b6cfe765ecc7db554bd3c2870c43f3d1821f1d18aebf0548
nvidia-cuda-nvrtc==13.0.88 --hash=sha256:ad9b6d2ead2435f11cbb6868809d2adeeee302e9bb94bcf0539c7a40d80e8575
nvidia-nvjitlink==13.0.88 --hash=sha256:13a74f429e23b921c1109976abefacc69835f2f433ebd323d3946e11d804e47b
nvidia-cublas==13.1.0.3 --hash=sha256:ee8722c1f0145ab246bccb9e452153b5e0515fd094c3678df50b2a0888b8b171
nvidia-cufft==12.0.0.61 --hash=sha256:6c44f692dce8fd5ffd3e3df134b6cdb9c2f72d99cf40b62c32dde45eea9ddad3
nvidia-curand==10.4.0.35 --hash=sha256:1aee33a5da6e1db083fe2b90082def8915f30f3248d5896bcec36a579d941bfc
nvidia-cudnn-cu13==9.27.0.42 --hash=sha256:9677e76f21862eb5da7ee5ed69d544738b2d8b5c3ce7e5ec125c5592e6cdbdc8"
KEY="$(printf '%s' "$REQUIREMENTS" | sha256sum | cut -c1-12)"
OUT="${1:-$CACHE/$KEY}"
if [[ -f "$OUT/.complete" ]]; then echo "$OUT"; exit 0; fi

WHEELS="$CACHE/wheels"
mkdir -p "$WHEELS"
printf '%s\n' "$REQUIREMENTS" >"$CACHE/requirements-$KEY.txt"
started=$SECONDS
log "downloading (or reusing) the wheels in $WHEELS"
# The provider libraries do not depend on Python: any CPython tag of the
# manylinux x86_64 wheel carries the same files.
python3 -m pip download --quiet --no-deps --only-binary=:all: --require-hashes \
  --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux2014_x86_64 \
  --python-version 3.12 --dest "$WHEELS" -r "$CACHE/requirements-$KEY.txt"
log "wheels ready in $((SECONDS - started)) s"

started=$SECONDS
tmp="$OUT.partial"
rm -rf "$tmp" && mkdir -p "$tmp/onnxruntime" "$tmp/lib"
# Only the libraries: not the Python bindings, nor the alternative NVRTC
# builds, cuFFTW or NVBLAS, which ORT never opens.
python3 - "$WHEELS" "$CACHE/requirements-$KEY.txt" "$tmp" <<'PY'
import glob, os, re, shutil, sys, zipfile
wheels, requirements, out = sys.argv[1:]
ORT = (r"onnxruntime/capi/libonnxruntime_providers_(cuda|shared)\.so$", "onnxruntime")
NVIDIA = (r"nvidia/(cu13|cudnn)/lib/lib(?!nvblas|cufftw|nvrtc\.alt|nvrtc-builtins\.alt)[^/]*\.so[.0-9]*$", "lib")
for line in open(requirements):
    name, version = line.split()[0].split("==")
    pattern, dest = ORT if name == "onnxruntime-gpu" else NVIDIA
    (wheel,) = glob.glob(os.path.join(wheels, f"{name.replace('-', '_')}-{version}-*.whl"))
    with zipfile.ZipFile(wheel) as z:
        for member in filter(lambda m: re.search(pattern, m), z.namelist()):
            with z.open(member) as src, open(os.path.join(out, dest, os.path.basename(member)), "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
PY
chmod 0755 "$tmp"/onnxruntime/*.so "$tmp"/lib/*
touch "$tmp/.complete"
rm -rf "$OUT" && mv "$tmp" "$OUT"
log "unpacked $(du -sh "$OUT" | cut -f1) into $OUT in $((SECONDS - started)) s"
echo "$OUT"
