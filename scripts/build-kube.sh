#!/usr/bin/env bash
# Builds the real Kubernetes control plane used by the tests, from source through the Go
# module proxy, and caches the binaries in $ACCEL_CACHE/bin/k8s-<version>, etcd-<version>,
# tools-<version>. A rerun with the binaries present does nothing.
#
# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/apiserver, ...) at
# v0.0.0 and replaces them with ./staging, which Go ignores in a dependency. The wrapper
# module in scripts/go/kube replaces each staging module with its published v0.<minor>.<patch>,
# reading the list from the real go.mod of k8s.io/kubernetes (never hand-listed).
# etcd's server module has the same problem with its own replaces, so it gets a separate
# wrapper (scripts/go/etcd), kept apart so version selection never mixes the two.
# Kueue (`kueue`, not part of `all`) goes to $ACCEL_CACHE/bin/kueue-<version> with the manifests
# scripts/kueue.sh installs; its go.mod has no replace directives, so it needs no wrapper.
source "$(dirname "$0")/lib.sh"

GOFLAGS_BUILD=(-p "${ACCEL_GO_JOBS:-2}" -trimpath)
require_go
export GOTOOLCHAIN=local

kube_dir="$ACCEL_CACHE/bin/k8s-$K8S_VERSION"
etcd_dir="$ACCEL_CACHE/bin/etcd-$ETCD_VERSION"
tools_dir="$ACCEL_CACHE/bin/tools-helm-$HELM_VERSION-kwok-$KWOK_VERSION"
kueue_dir="$ACCEL_CACHE/bin/kueue-$KUEUE_VERSION"

# Regenerates scripts/go/kube/go.mod when it does not match K8S_VERSION.
generate_kube_module() {
  local dir="$ACCEL_ROOT/scripts/go/kube" stg="v0.${K8S_VERSION#v1.}"
  if grep -q "k8s.io/kubernetes $K8S_VERSION" "$dir/go.mod" 2>/dev/null; then return; fi
  log "generating the wrapper module for k8s.io/kubernetes $K8S_VERSION"
  rm -f "$dir/go.mod" "$dir/go.sum"
  (cd "$dir" && go mod init accel.dev/scripts/kube >/dev/null 2>&1)
  local modfile
  modfile=$(cd "$dir" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["GoMod"])')
  local staging
  staging=$(sed -nE 's#^[[:space:]]*(k8s\.io/[^ ]+) => \./staging/.*#\1#p' "$modfile")
  [ -n "$staging" ] || die "found no staging replaces in $modfile"
  for m in $staging; do (cd "$dir" && go mod edit -replace="$m=$m@$stg"); done
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    (cd "$dir" && go get -tool "k8s.io/kubernetes/cmd/$c@$K8S_VERSION")
  done
  log "$(echo "$staging" | wc -w) staging modules replaced with $stg"
}

build_kube() {
  if [ -x "$kube_dir/kube-apiserver" ] && [ -x "$kube_dir/kubectl" ] &&
     [ -x "$kube_dir/kube-controller-manager" ] && [ -x "$kube_dir/kube-scheduler" ]; then
    log "kubernetes $K8S_VERSION cached in $kube_dir"; return
  fi
  generate_kube_module
  local minor v
  minor=$(cut -d. -f2 <<<"$K8S_VERSION")
  v="-X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1"
  v="$v -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean"
  v="$v ${v//component-base\/version/client-go\/pkg\/version}"
  mkdir -p "$kube_dir.tmp"
  log "building kube-apiserver, kube-controller-manager, kube-scheduler, kubectl $K8S_VERSION"
  (cd "$ACCEL_ROOT/scripts/go/kube" &&
    go build -mod=mod "${GOFLAGS_BUILD[@]}" -ldflags "-s -w $v" -o "$kube_dir.tmp/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  rm -rf "$kube_dir" && mv "$kube_dir.tmp" "$kube_dir"
}

build_etcd() {
  if [ -x "$etcd_dir/etcd" ]; then log "etcd $ETCD_VERSION cached in $etcd_dir"; return; fi
  local dir="$ACCEL_ROOT/scripts/go/etcd"
  if ! grep -q "go.etcd.io/etcd/server/v3 $ETCD_VERSION" "$dir/go.mod" 2>/dev/null; then
    rm -f "$dir/go.mod" "$dir/go.sum"
    (cd "$dir" && go mod init accel.dev/scripts/etcd >/dev/null 2>&1 &&
      go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION")
  fi
  mkdir -p "$etcd_dir.tmp"
  log "building etcd $ETCD_VERSION"
  (cd "$dir" && go build -mod=mod "${GOFLAGS_BUILD[@]}" -ldflags "-s -w" -o "$etcd_dir.tmp/etcd" go.etcd.io/etcd/server/v3)
  rm -rf "$etcd_dir" && mv "$etcd_dir.tmp" "$etcd_dir"
}

build_tools() {
  if [ -x "$tools_dir/helm" ] && [ -x "$tools_dir/kwok" ]; then log "helm and kwok cached in $tools_dir"; return; fi
  mkdir -p "$tools_dir.tmp"
  log "building helm $HELM_VERSION and kwok $KWOK_VERSION"
  local hv="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  GOBIN="$tools_dir.tmp" go install "${GOFLAGS_BUILD[@]}" -ldflags "-s -w $hv" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
  GOBIN="$tools_dir.tmp" go install "${GOFLAGS_BUILD[@]}" -ldflags "-s -w" "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # KWOK needs its stage definitions at run time; keep them beside the binary.
  local stages
  stages="$(go env GOMODCACHE)/sigs.k8s.io/kwok@$KWOK_VERSION/kustomize/stage"
  cp -r "$stages" "$tools_dir.tmp/stages" && chmod -R u+w "$tools_dir.tmp/stages"
  rm -rf "$tools_dir" && mv "$tools_dir.tmp" "$tools_dir"
}

# The kueue manager binary plus, from the same module's config/components, what scripts/kueue.sh
# installs: crd/ (the CRDs, and the kustomization naming those with a conversion webhook),
# webhook/ (the webhook configurations it rewrites to loopback url: clients, and the
# kustomization naming the webhooks that get a namespace selector), and rbac/ (the default
# install's RBAC, for reference: the test fixture runs Kueue with the admin kubeconfig).
build_kueue() {
  if [ -x "$kueue_dir/kueue" ] && [ -f "$kueue_dir/webhook/manifests.yaml" ]; then
    log "kueue $KUEUE_VERSION cached in $kueue_dir"; return
  fi
  rm -rf "$kueue_dir.tmp" && mkdir -p "$kueue_dir.tmp"
  log "building kueue $KUEUE_VERSION"
  local kv="-X sigs.k8s.io/kueue/pkg/version.GitVersion=$KUEUE_VERSION"
  GOBIN="$kueue_dir.tmp" go install "${GOFLAGS_BUILD[@]}" -ldflags "-s -w $kv" \
    "sigs.k8s.io/kueue/cmd/kueue@$KUEUE_VERSION"
  local src
  src="$(go env GOMODCACHE)/sigs.k8s.io/kueue@$KUEUE_VERSION/config/components"
  cp -r "$src/crd" "$src/webhook" "$src/rbac" "$kueue_dir.tmp/"
  chmod -R u+w "$kueue_dir.tmp"
  rm -rf "$kueue_dir" && mv "$kueue_dir.tmp" "$kueue_dir"
}

case "${1:-all}" in
  kube) build_kube ;;
  etcd) build_etcd ;;
  tools) build_tools ;;
  kueue) build_kueue ;;
  all) build_etcd; build_tools; build_kube ;;
  *) die "usage: $0 [all|kube|etcd|tools|kueue]" ;;
esac
