# syntax=docker/dockerfile:1
# Every stylekube image, one target each (`npm run images` builds them;
# docs/real-node.md). Build from the repository root, for example:
#   docker build --target controller -t stylekube/controller:0.1.0 .
# Targets:
#   controller             the operator (`stylekube controller`)
#   server                 the model server on CPU (`stylekube serve`), no trainer code
#   trainer                the training worker (`stylekube worker`): onnxruntime on
#                          CPU, webgpu (Dawn over Vulkan), wasm, cpu
#   trainer-cuda           trainer + ONNX Runtime's CUDA provider     } need the build context
#   server-cuda            server + ONNX Runtime's CUDA provider      } `cuda` (images/cuda-libs.sh)
#   trainer-tfjs-node-gpu  trainer + the tensorflow engine (@tensorflow/tfjs-node-gpu,
#                          CUDA 11); its install downloads libtensorflow (about 400 MB)
# The CUDA targets take the provider and CUDA libraries from a build context
# named `cuda`, the folder images/cuda-libs.sh makes from PyPI wheels:
#   docker build --target trainer-cuda --build-context cuda=$(images/cuda-libs.sh) -t stylekube/trainer:0.1.0-cuda .
# Every runtime runs as uid 1000 with a read-only root filesystem; writes only to /tmp.

# The base of every stage: the official Node image (Node 24, an LTS release).
# `npm run images` passes a locally made equivalent where no registry can be
# reached (images/local-base.sh): --build-arg NODE_IMAGE=...
ARG NODE_IMAGE=docker.io/library/node:24-bookworm-slim
ARG TFJS_VERSION=4.22.0

# --- build: compile TypeScript with the dev dependencies ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the root "prepare" would compile before the sources are
# here; the dependencies' own install scripts are no-ops on linux-x64/arm64
# (sharp and dawn ship prebuilt binaries in their packages).
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY cli ./cli
COPY common ./common
COPY controller ./controller
COPY model ./model
COPY serving ./serving
COPY trainer ./trainer
RUN npm run build

# --- production dependencies (webgpu and dawn.node are optional dependencies: kept) ---
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Only node_modules leaves this stage, so npm's cache never reaches an image.
RUN npm ci --omit=dev --ignore-scripts

# --- what every runtime has ---
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production TMPDIR=/tmp HOME=/tmp
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin

# --- the operator ---
FROM runtime AS controller
COPY --from=build /app/dist ./dist
# The dashboard's page, script and styles: tsc does not emit them, and
# dist/controller/dashboard/static-assets.js looks for them in the source tree.
COPY controller/dashboard/static ./controller/dashboard/static
# uid/gid 1000 is the image's "node" user; the chart's securityContext uses the same numbers.
USER 1000:1000
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/stylekube.js"]
CMD ["controller"]

# --- the model server (CPU) ---
FROM runtime AS server
# Only what `stylekube serve` runs: the CLI's program and command definitions
# (each loads its work only when run), the shared code, the model (network,
# format, inference engines) and the server. No trainer/ file (training
# kernels, worker environment) is in this image; `stylekube worker`, `train`,
# `dataset` and `weights` are not available here.
COPY --from=build /app/dist/cli/main.js /app/dist/cli/program.js /app/dist/cli/options.js ./dist/cli/
COPY --from=build /app/dist/cli/commands ./dist/cli/commands
COPY --from=build /app/dist/common ./dist/common
COPY --from=build /app/dist/model ./dist/model
COPY --from=build /app/dist/serving ./dist/serving
USER 1000:1000
# SERVER_PORT in controller/serving/server-resources.ts.
EXPOSE 8080
ENTRYPOINT ["node", "/app/bin/stylekube.js"]
CMD ["serve"]

# --- the training worker, one per rank (STYLEKUBE_TRAINER_IMAGE) ---
FROM runtime AS trainer
# The Vulkan loader (libvulkan.so.1), which Dawn opens. The NVIDIA driver's
# Vulkan ICD is not in the image: the NVIDIA container runtime mounts it
# (nvidia_icd.json and libGLX_nvidia) when the capabilities include graphics.
# The local base (images/local-base.sh) already has it, so that build needs no apt.
RUN dpkg -s libvulkan1 >/dev/null 2>&1 || { apt-get update \
 && apt-get install -y --no-install-recommends libvulkan1 \
 && rm -rf /var/lib/apt/lists/*; }
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,graphics
# Drivers cache compiled shaders under $XDG_CACHE_HOME (or $HOME/.cache): keep them in /tmp.
ENV XDG_CACHE_HOME=/tmp/.cache
COPY --from=build /app/dist ./dist
USER 1000:1000
ENTRYPOINT ["node", "/app/bin/stylekube.js"]
CMD ["worker"]

# --- ONNX Runtime's CUDA provider, from the `cuda` build context ---
# The provider libraries lie beside onnxruntime-node's libonnxruntime.so.1,
# where ONNX Runtime looks for them; the CUDA, cuBLAS, cuFFT, cuRAND, NVRTC,
# nvJitLink and cuDNN libraries (CUDA 13: the node's driver must be r580 or
# newer) in one folder on LD_LIBRARY_PATH, which dlopen searches too. The
# driver's own libcuda.so.1 is mounted by the NVIDIA container runtime.
FROM trainer AS trainer-cuda
COPY --from=cuda onnxruntime/ /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
COPY --from=cuda lib/ /opt/stylekube/cuda/lib/
ENV LD_LIBRARY_PATH=/opt/stylekube/cuda/lib

FROM server AS server-cuda
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility
COPY --from=cuda onnxruntime/ /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
COPY --from=cuda lib/ /opt/stylekube/cuda/lib/
ENV LD_LIBRARY_PATH=/opt/stylekube/cuda/lib

# --- production dependencies plus tfjs-node-gpu ---
FROM ${NODE_IMAGE} AS deps-tfjs-node-gpu
ARG TFJS_VERSION
# Fallback compilers, in case the prebuilt binding of tfjs-node-gpu cannot be fetched.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# Same pinned tree as the other images, then tfjs-node-gpu at the version of
# the other tfjs packages; only its own install script runs (it downloads
# libtensorflow into its deps/ folder).
RUN npm ci --omit=dev --ignore-scripts \
 && npm install --no-save --omit=dev --ignore-scripts "@tensorflow/tfjs-node-gpu@${TFJS_VERSION}" \
 && npm rebuild @tensorflow/tfjs-node-gpu \
 && node -e "require('@tensorflow/tfjs-node-gpu/package.json')" \
 && npm cache clean --force

# --- the worker with the tensorflow engine: trainer plus CUDA 11 / cuDNN 8 ---
FROM trainer AS trainer-tfjs-node-gpu
USER root
# libtensorflow 2.9 (tfjs-node-gpu 4.x) is built against CUDA 11.2 and cuDNN 8.1;
# NVIDIA's Debian 12 repository only carries CUDA 12, so the CUDA 11 runtime
# libraries come from NVIDIA's redistributable wheels on PyPI (the same files
# TensorFlow's own pip packages use), unpacked without installing Python.
ARG CUDA_WHEELS="nvidia-cuda-runtime-cu11==11.8.89 nvidia-cublas-cu11==11.11.3.6 nvidia-cudnn-cu11==8.9.6.50 nvidia-cufft-cu11==10.9.0.58 nvidia-curand-cu11==10.3.0.86 nvidia-cusolver-cu11==11.4.1.48 nvidia-cusparse-cu11==11.7.5.86"
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip \
 && pip3 download --no-deps --only-binary=:all: --dest /tmp/wheels ${CUDA_WHEELS} \
 && mkdir -p /opt/cuda11 \
 && for w in /tmp/wheels/*.whl; do python3 -m zipfile -e "$w" /tmp/unpacked; done \
 && find /tmp/unpacked/nvidia -path '*/lib/*.so*' -exec cp -a {} /opt/cuda11/ \; \
 && apt-get purge -y python3-pip && apt-get autoremove -y \
 && rm -rf /tmp/wheels /tmp/unpacked /var/lib/apt/lists/* /root/.cache
ENV LD_LIBRARY_PATH=/opt/cuda11
COPY --from=deps-tfjs-node-gpu /app/node_modules ./node_modules
USER 1000:1000
