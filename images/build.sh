#!/usr/bin/env bash
# `npm run images`: builds the operator, model-server and trainer images, one
# target each of the project's Dockerfile, with podman, or with Docker where
# its engine answers. The base image is a build argument (NODE_IMAGE): the
# official node:24-bookworm-slim when it can be pulled (or is already
# present), else a local equivalent made by images/local-base.sh.
#   npm run images                         all three, tagged docker.io/stylekube/<name>:<package version>
#   npm run images -- controller trainer   only those
#   npm run images -- --gpu [names]        also their CUDA variants trainer-cuda, server-cuda, tagged
#                                          docker.io/stylekube/{trainer,server}:<version>-cuda
#                                          (ONNX Runtime's CUDA provider; images/cuda-libs.sh
#                                          fetches its libraries from PyPI, about 1.6 GB once)
#   npm run images -- trainer-tfjs-node-gpu   the tensorflow engine's trainer (…:<version>-tfjs-node-gpu)
# Environment: STYLEKUBE_IMAGE_ENGINE=podman|docker, NODE_IMAGE=<base>,
# STYLEKUBE_IMAGE_TAG=<tag> (default: the package version).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OFFICIAL_BASE="docker.io/library/node:24-bookworm-slim"
VERSION="$(node -p 'require(process.argv[1]).version' "$ROOT/package.json")"
TAG="${STYLEKUBE_IMAGE_TAG:-$VERSION}"
log() { printf '[images] %s\n' "$*" >&2; }

pick_engine() {
  if [[ -n "${STYLEKUBE_IMAGE_ENGINE:-}" ]]; then echo "$STYLEKUBE_IMAGE_ENGINE"; return; fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; return; fi
  if command -v podman >/dev/null; then echo podman; return; fi
  log "neither a Docker engine nor podman: apt-get install podman runc (docs/real-node.md)"; exit 2
}
ENGINE="$(pick_engine)"
# podman reads the project's settings (runc, no raised ulimits, cgroupfs)
# instead of the host's /etc/containers/containers.conf.
if [[ "$ENGINE" == podman ]]; then export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/images/containers.conf}"; fi

has_image() {
  if [[ "$ENGINE" == podman ]]; then podman image exists "$1"; else docker image inspect "$1" >/dev/null 2>&1; fi
}

CACHE_DIR="${STYLEKUBE_IMAGES_CACHE:-$HOME/.cache/stylekube/images}"
# A failed pull costs about 35 s of retries: after one, the next day's builds
# go straight to the local base (delete the marker to try again sooner).
UNREACHABLE="$CACHE_DIR/official-base-unreachable"

base_image() {
  if [[ -n "${NODE_IMAGE:-}" ]]; then echo "$NODE_IMAGE"; return; fi
  if has_image "$OFFICIAL_BASE"; then echo "$OFFICIAL_BASE"; return; fi
  if [[ -z "$(find "$UNREACHABLE" -mmin -1440 2>/dev/null)" ]]; then
    if timeout 90 "$ENGINE" pull -q "$OFFICIAL_BASE" >/dev/null 2>&1; then echo "$OFFICIAL_BASE"; return; fi
    mkdir -p "$CACHE_DIR" && touch "$UNREACHABLE"
  fi
  log "$OFFICIAL_BASE cannot be pulled: making a local base (images/local-base.sh)"
  "$ROOT/images/local-base.sh" "$ENGINE"
}

# Target → image name and tag suffix.
declare -A IMAGE=([controller]=controller [server]=server [trainer]=trainer
  [trainer-cuda]=trainer [server-cuda]=server [trainer-tfjs-node-gpu]=trainer)
declare -A SUFFIX=([trainer-cuda]=-cuda [server-cuda]=-cuda [trainer-tfjs-node-gpu]=-tfjs-node-gpu)
gpu=false names=()
for a in "$@"; do if [[ "$a" == --gpu ]]; then gpu=true; else names+=("$a"); fi; done
[[ ${#names[@]} -eq 0 ]] && names=(controller server trainer)
# --gpu: each named trainer or server image also in its CUDA variant.
if $gpu; then for n in "${names[@]}"; do if [[ "$n" == trainer || "$n" == server ]]; then names+=("$n-cuda"); fi; done; fi
for n in "${names[@]}"; do [[ -n "${IMAGE[$n]:-}" ]] || { log "unknown image $n (${!IMAGE[*]}, or --gpu)"; exit 2; }; done

BASE="$(base_image)"
log "engine $ENGINE, base $BASE, tag $TAG"
build_args=(--build-arg "NODE_IMAGE=$BASE" --network host)
# RUN npm ci gets an npm cache of its own (podman mounts it into build steps;
# Docker has no such flag and downloads), filled from the user's, so builds
# fetch nothing the host's `npm ci` already fetched. Never the user's cache
# itself: a build step may write to it. Every build adds what the user's cache
# has gained (a new dependency): the lockfile has no `resolved` URLs, so npm
# asks the registry for each package's metadata and, where the registry cannot
# be reached from a build step (a proxy with its own CA), falls back to the
# cached copy; without one the build fails with SELF_SIGNED_CERT_IN_CHAIN.
# Entries are content-addressed or keyed per request: copying without
# overwriting only adds.
NPM_CACHE="$CACHE_DIR/npm"
if [[ "$ENGINE" == podman ]]; then
  mkdir -p "$NPM_CACHE"
  if [[ -d "$HOME/.npm/_cacache" ]]; then cp -a -n "$HOME/.npm/_cacache" "$NPM_CACHE/"; fi
  # prefer-offline: npm takes package metadata from that cache without asking
  # the registry first. Without it every package's metadata request waits for
  # the registry to fail before the cached copy is used (measured: about
  # 17 min per `npm ci` on a busy machine behind such a proxy).
  printf 'prefer-offline=true\n' >"$CACHE_DIR/npmrc"
  build_args+=(--volume "$NPM_CACHE:/root/.npm" --volume "$CACHE_DIR/npmrc:/root/.npmrc:ro")
  # Build steps get 1024 open files by default (containers.conf's empty
  # default_ulimits applies to `podman run` only), too few for `npm ci`
  # fetching in parallel (EMFILE). Up to the caller's own hard limit.
  nofile="$(ulimit -Hn)"; [[ "$nofile" == unlimited || "$nofile" -gt 65536 ]] && nofile=65536
  build_args+=(--ulimit "nofile=$nofile:$nofile")
  # The host's own CA setting (a proxy with its own CA) applies in build steps
  # too, so a package the cache lacks is fetched instead of failing with
  # SELF_SIGNED_CERT_IN_CHAIN.
  if [[ -n "${NODE_EXTRA_CA_CERTS:-}" && -r "$NODE_EXTRA_CA_CERTS" ]]; then
    printf 'cafile=/run/stylekube-ca.crt\n' >>"$CACHE_DIR/npmrc"
    build_args+=(--volume "$NODE_EXTRA_CA_CERTS:/run/stylekube-ca.crt:ro")
  fi
fi

for n in "${names[@]}"; do
  image="docker.io/stylekube/${IMAGE[$n]}:$TAG${SUFFIX[$n]:-}"
  target_args=(--target "$n")
  # The CUDA targets copy the provider and CUDA libraries from a build
  # context of that name: the folder images/cuda-libs.sh makes (cached).
  if [[ "$n" == *-cuda ]]; then target_args+=(--build-context "cuda=$("$ROOT/images/cuda-libs.sh")"); fi
  started=$SECONDS
  log "building $image (target $n of Dockerfile)"
  "$ENGINE" build "${build_args[@]}" "${target_args[@]}" -f "$ROOT/Dockerfile" -t "$image" "$ROOT"
  log "$image built in $((SECONDS - started)) s"
done
