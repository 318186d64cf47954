#!/usr/bin/env bash
# Installs the Debian packages Accel builds and tests with. Idempotent: when every package
# is installed it does nothing (no apt-get update either).
source "$(dirname "$0")/lib.sh"

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config git curl unzip ca-certificates
  libcpprest-dev libboost-dev libyaml-cpp-dev nlohmann-json3-dev prometheus-cpp-dev
  libhowardhinnant-date-dev   # RFC 3339 timestamps (the reference implementation of C++20 <chrono> dates)
  libgtest-dev libgmock-dev libcli11-dev libssl-dev openssl
  libmicrohttpd-dev      # the embedded HTTP server of ranks and the operator (worker/src/http)
  libgloo-dev            # gloo headers for c10d's ProcessGroupGloo (the torch wheel lacks them)
  prometheus             # promtool and a real Prometheus server for tests
  clang-format           # applies the root .clang-format (STYLE.md)
  libnss-wrapper         # e2e node agent: pod DNS names for host processes (NSS_WRAPPER_HOSTS)
  clang-19 libclang-rt-19-dev  # libFuzzer + ASan/UBSan for the fuzz harnesses (tests/fuzz)
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then log "Debian packages present"; exit 0; fi
log "installing: ${missing[*]}"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
