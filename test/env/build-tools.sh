#!/usr/bin/env bash
# Builds the real servers the test environment runs — etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok, MinIO, nats-server —
# from their Go modules, into a cache outside the repository keyed by version,
# so the second run is a no-op. Usage: build-tools.sh [tool ...] (default: all
# servers). helm, kubeconform and kube-score (the chart tests' tools), and kubelet and
# pause (the opt-in real node's) are built only when named, so bringing the
# environment up does not pay for them.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.34.4}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
MINIO_VERSION="${MINIO_VERSION:-v0.0.0-20260212201848-7aac2a2c5b7c}"
NATS_VERSION="${NATS_VERSION:-v2.12.15}"
HELM_VERSION="${HELM_VERSION:-v4.3.1}"
KUBECONFORM_VERSION="${KUBECONFORM_VERSION:-v0.8.0}"
KUBE_SCORE_VERSION="${KUBE_SCORE_VERSION:-v1.20.0}"
TOOLS_DIR="${STYLEKUBE_TOOLS_DIR:-$HOME/.cache/stylekube/tools}"
export CGO_ENABLED=0 GOFLAGS=-buildvcs=false GOTOOLCHAIN=local

log() { printf '[build-tools] %s\n' "$*" >&2; }

# A throwaway module whose only job is to pin versions: k8s.io/kubernetes keeps
# its staging modules behind `replace => ./staging/...`, which only work inside
# its own repository, so a dependent module must pin each to the matching v0.x.
build_kubernetes() {
  local out="$TOOLS_DIR/kubernetes-$K8S_VERSION"
  if [[ -x "$out/bin/kube-apiserver" && -x "$out/bin/etcd" && -x "$out/bin/kubectl" \
        && -x "$out/bin/kube-controller-manager" && -x "$out/bin/kube-scheduler" ]]; then
    log "kubernetes $K8S_VERSION: cached in $out"; return
  fi
  local staging="v0.${K8S_VERSION#v1.}"
  local work; work="$(mktemp -d)"
  log "kubernetes $K8S_VERSION (staging $staging): building in $work"
  (
    cd "$work"
    go mod init stylekube.local/k8s-tools >/dev/null 2>&1
    curl -fsSL "https://proxy.golang.org/k8s.io/kubernetes/@v/$K8S_VERSION.mod" -o kubernetes.mod \
      || go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
    {
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo "replace ("
      grep -oE 'k8s.io/[a-z0-9-]+ => ./staging' kubernetes.mod | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >> go.mod
    cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3"
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    # tidy resolves every other module at the version k8s.io/kubernetes itself
    # requires (etcd included), so the binaries match an upstream release build.
    go mod tidy >/dev/null
    mkdir -p "$out/bin"
    go build -trimpath -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
      -o "$out/bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl
    go build -trimpath -ldflags="-s -w" -o "$out/bin/etcd" go.etcd.io/etcd/server/v3
  )
  rm -rf "$work"
}

# The kubelet, for the opt-in real node (test/env/real-node/): same pinned
# module graph as the control plane, built only when named.
build_kubelet() {
  local out="$TOOLS_DIR/kubelet-$K8S_VERSION"
  if [[ -x "$out/bin/kubelet" ]]; then log "kubelet $K8S_VERSION: cached in $out"; return; fi
  local staging="v0.${K8S_VERSION#v1.}"
  local work; work="$(mktemp -d)"
  log "kubelet $K8S_VERSION (staging $staging): building in $work"
  (
    cd "$work"
    go mod init stylekube.local/k8s-node >/dev/null 2>&1
    curl -fsSL "https://proxy.golang.org/k8s.io/kubernetes/@v/$K8S_VERSION.mod" -o kubernetes.mod
    {
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo "replace ("
      grep -oE 'k8s.io/[a-z0-9-]+ => ./staging' kubernetes.mod | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >> go.mod
    printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kubelet"\n' > tools.go
    go mod tidy >/dev/null
    mkdir -p "$out/bin"
    go build -trimpath -ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION" \
      -o "$out/bin/kubelet" k8s.io/kubernetes/cmd/kubelet
  )
  rm -rf "$work"
}

# The real node's sandbox ("pause") image: a static binary that waits for a
# signal, from test/env/real-node/pause/pause.go (no registry to pull one from).
build_pause() {
  local src="$(dirname "${BASH_SOURCE[0]}")/real-node/pause/pause.go"
  local sum; sum="$(sha256sum "$src" | cut -c1-12)"
  local out="$TOOLS_DIR/pause-$sum"
  if [[ -x "$out/bin/pause" ]]; then log "pause $sum: cached"; return; fi
  mkdir -p "$out/bin"
  go build -trimpath -ldflags="-s -w" -o "$out/bin/pause" "$src"
}

# Modules without replace directives install directly.
go_install() { # name version package binary [extra ldflags]
  local name="$1" version="$2" pkg="$3" bin="$4" ldflags="${5:-}"
  local out="$TOOLS_DIR/$name-$version"
  if [[ -x "$out/bin/$bin" ]]; then log "$name $version: cached"; return; fi
  log "$name $version: building"
  GOBIN="$out/bin" go install -trimpath -ldflags="-s -w $ldflags" "$pkg@$version"
}

tools=("$@"); [[ ${#tools[@]} -eq 0 ]] && tools=(kubernetes kwok minio nats)
for t in "${tools[@]}"; do
  case "$t" in
    kubernetes) build_kubernetes ;;
    kubelet) build_kubelet ;;
    pause) build_pause ;;
    kwok) go_install kwok "$KWOK_VERSION" sigs.k8s.io/kwok/cmd/kwok kwok ;;
    minio) go_install minio "$MINIO_VERSION" github.com/minio/minio minio ;;
    nats) go_install nats-server "$NATS_VERSION" github.com/nats-io/nats-server/v2 nats-server ;;
    # Neither go.mod has replace directives, so plain `go install` builds them.
    # Their version strings come from ldflags, as in their release builds.
    helm) go_install helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm helm \
            "-X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" ;;
    kubeconform) go_install kubeconform "$KUBECONFORM_VERSION" github.com/yannh/kubeconform/cmd/kubeconform kubeconform \
            "-X main.version=$KUBECONFORM_VERSION" ;;
    # The chart's and install.yaml's static check (test/integration/charts/kube-score.test.ts).
    kube-score) go_install kube-score "$KUBE_SCORE_VERSION" github.com/zegl/kube-score/cmd/kube-score kube-score \
            "-X main.version=$KUBE_SCORE_VERSION" ;;
    *) log "unknown tool $t"; exit 2 ;;
  esac
done
