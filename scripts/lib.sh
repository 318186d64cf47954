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
KUEUE_VERSION="${KUEUE_VERSION:-v0.17.0}"
TORCH_VERSION="${TORCH_VERSION:-2.11.0}"

# Go >= 1.26 builds Kubernetes 1.36 (the machine's Go; Debian's is too old).
require_go() {
  command -v go >/dev/null || die "Go >= 1.26 is required on PATH"
  local v; v=$(go env GOVERSION | sed 's/^go//')
  [ "$(printf '%s\n1.26\n' "$v" | sort -V | head -1)" = "1.26" ] || die "Go >= 1.26 required, found $v"
}

# A cached Python venv for pinned requirements: sets VENV ($ACCEL_CACHE/venv-NAME-<hash of the
# Python version and REQUIREMENTS>) and MARKER (its completion file). Returns 0 when a complete
# one is there; otherwise makes a fresh empty one holding requirements.txt and returns 1, and
# the caller installs into it and touches "$MARKER".
cached_venv() {  # NAME REQUIREMENTS
  PYTHON="${ACCEL_PYTHON:-python3}"
  command -v "$PYTHON" >/dev/null || die "python3 is required on PATH (or set ACCEL_PYTHON)"
  local hash
  hash=$(printf '%s\n%s\n' "$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')" \
         "$2" | sha256sum | cut -c1-12)
  VENV="$ACCEL_CACHE/venv-$1-$hash"
  MARKER="$VENV/.accel-complete"
  [ -f "$MARKER" ] && [ -x "$VENV/bin/python" ] && return 0
  # A venv without its marker is a half-finished install: start again from scratch.
  rm -rf "$VENV"
  log "creating $VENV"
  "$PYTHON" -m venv "$VENV"
  printf '%s\n' "$2" > "$VENV/requirements.txt"
  return 1
}

# For the scripts that start the test control plane's processes (controlplane.sh, kueue.sh):
# a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Stops the process whose pid PIDFILE holds: SIGTERM, 5 s, then SIGKILL; removes the file.
stop_one() { # stop_one PIDFILE
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

# Stops DIR's owner watcher (DIR/watcher.pid), unless the caller is that watcher itself.
stop_watcher() { # stop_watcher DIR
  if [ -f "$1/watcher.pid" ] && [ "$(cat "$1/watcher.pid")" != "${PPID:-}" ]; then
    kill "$(cat "$1/watcher.pid")" 2>/dev/null || true
  fi
  rm -f "$1/watcher.pid"
}
