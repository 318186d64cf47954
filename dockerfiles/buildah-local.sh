#!/usr/bin/env bash
# Builds dockerfiles/*.Dockerfile without a Docker engine or a registry: buildah with overlay
# (else VFS) storage and chroot isolation, on a Debian bookworm base made locally with debootstrap
# (FROM debian:bookworm / bookworm-slim resolve to it; nothing is pulled).
#
#   dockerfiles/buildah-local.sh operator             # builds accel-operator:0.1.0, runs --version
#   dockerfiles/buildah-local.sh worker-cpu           # builds accel-worker:cpu, runs accel --version
#   dockerfiles/buildah-local.sh worker-cuda          # builds accel-worker:cuda; inside it: ldd,
#                                                     # accel --version, the no-GPU errors
#   dockerfiles/buildah-local.sh operator --target build   # extra args go to `buildah bud`
#
# Needs root and the Debian packages buildah and debootstrap (apt-get install -y buildah
# debootstrap). Both worker variants build on Debian: the cuda one takes CUDA from PyPI wheels.
# What works and what does not in this sandbox: dockerfiles/README.md.
source "$(dirname "$0")/../scripts/lib.sh"

what=${1:-}; shift || true
case "$what" in
  operator) file=operator.Dockerfile tag=localhost/accel-operator:0.1.0
            probe=(/usr/local/bin/accel-operator --version) bargs=() ;;
  worker-cpu) file=worker.Dockerfile tag=localhost/accel-worker:cpu
            probe=(/usr/local/bin/accel --version) bargs=(--build-arg VARIANT=cpu) ;;
  worker-cuda) file=worker.Dockerfile tag=localhost/accel-worker:cuda
            probe=(/bin/bash -c "$(cat <<'CHECKS'
set -u
echo "== ldd /usr/local/bin/accel-train-gpt"; ldd /usr/local/bin/accel-train-gpt
! ldd /usr/local/bin/accel-train-gpt | grep -q 'not found' || exit 1
echo "== accel --version"; accel --version
cd /tmp
echo "== CUDA trainer on CPU, no driver"
accel launch --num_processes 1 --main_process_port 0 -- accel-train-gpt --steps 2 --dim 32 \
  --layers 1 --heads 2 --seq-len 16 --batch-size 2 --corpus /usr/share/common-licenses \
  2>&1 | grep -E '^\[accel\] (device|backend)|^step|^done' || exit 1
echo "== gpusPerNode 1 without a GPU"
ACCEL_GPUS_PER_NODE=1 accel launch --num_processes 1 --main_process_port 0 -- accel-train-gpt --steps 2 \
  --corpus /usr/share/common-licenses 2>&1 | grep -E 'configuration error|exited with code'
echo "exit code: ${PIPESTATUS[0]}"
echo "== backend nccl without a GPU"
accel launch --num_processes 2 --main_process_port 0 --backend nccl -- accel-train-mlp --steps 2 \
  2>&1 | grep -E 'configuration error' | head -1
echo "exit code: ${PIPESTATUS[0]}"
CHECKS
)") bargs=(--build-arg VARIANT=cuda) ;;
  *) die "usage: $0 operator|worker-cpu|worker-cuda [buildah bud args...]" ;;
esac
for t in buildah debootstrap; do command -v $t >/dev/null || die "$t missing: apt-get install -y buildah debootstrap"; done

# overlay keeps each layer as a diff; VFS (a full copy of the tree per layer: tens of GB for the
# cuda image) only where the kernel has no overlay.
driver=vfs
grep -qw overlay /proc/filesystems && driver=overlay
B=(buildah --storage-driver "$driver")
rootfs="$ACCEL_CACHE/rootfs-debian-bookworm"
if ! "${B[@]}" inspect --type image docker.io/library/debian:bookworm >/dev/null 2>&1; then
  if [ ! -f "$rootfs/.complete" ]; then
    log "debootstrap bookworm (minbase) into $rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >&2
    touch "$rootfs/.complete"
  fi
  log "importing $rootfs as debian:bookworm and debian:bookworm-slim"
  ctr=$("${B[@]}" from scratch)
  mnt=$("${B[@]}" mount "$ctr")
  tar -C "$rootfs" --exclude=./.complete -cf - . | tar -C "$mnt" -xf -
  "${B[@]}" umount "$ctr" >/dev/null
  "${B[@]}" config --cmd /bin/bash "$ctr"
  "${B[@]}" commit --rm "$ctr" docker.io/library/debian:bookworm >/dev/null
  "${B[@]}" tag docker.io/library/debian:bookworm docker.io/library/debian:bookworm-slim
fi

# A sandbox whose PyPI traffic goes through a TLS-intercepting proxy trusts the proxy's CA in the
# host's bundle only: lend that bundle to the build's RUN steps (read-only, outside the image)
# and point pip at it. Verification stays on; nothing of it lands in a layer.
ca_args=()
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
  ca_args=(-v /etc/ssl/certs/ca-certificates.crt:/run/host-ca.crt:ro --build-arg PIP_CERT=/run/host-ca.crt)
fi
# --format docker: with the OCI format buildah ignores SHELL (pipefail) even during the build.
cd "$ACCEL_ROOT"
"${B[@]}" bud --layers --isolation chroot --pull=never --format docker "${ca_args[@]}" \
  --ignorefile "dockerfiles/$file.dockerignore" -f "dockerfiles/$file" -t "$tag" \
  "${bargs[@]}" "$@" .

# The default OCI runtime cannot start containers here; chroot isolation can.
ctr=$("${B[@]}" from --pull=never "$tag")
trap '"${B[@]}" rm "$ctr" >/dev/null' EXIT
"${B[@]}" run --isolation chroot "$ctr" -- "${probe[@]}"
