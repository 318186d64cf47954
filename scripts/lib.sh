# Shared settings for Accel's set-up scripts. Sourced, never run.
# Everything downloaded or built lives under ACCEL_CACHE, outside the clone, keyed by
# version, so a second run finds it and does nothing.
set -euo pipefail
ACCEL_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ACCEL_CACHE="${ACCEL_CACHE:-$HOME/.cache/accel}"
mkdir -p "$ACCEL_CACHE"
export ACCEL_ROOT ACCEL_CACHE

log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Pinned versions (one place; README and the closing notes quote these).
K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"
TORCH_VERSION="${TORCH_VERSION:-2.11.0}"

# Go >= 1.26 builds Kubernetes 1.36 (the machine's Go; Debian's is too old).
require_go() {
  command -v go >/dev/null || die "Go >= 1.26 is required on PATH"
  local v; v=$(go env GOVERSION | sed 's/^go//')
  [ "$(printf '%s\n1.26\n' "$v" | sort -V | head -1)" = "1.26" ] || die "Go >= 1.26 required, found $v"
}
