#!/usr/bin/env bash
# Builds dockerfiles/*.Dockerfile without a Docker engine or a registry: buildah with VFS
# storage and chroot isolation, on a Debian bookworm base made locally with debootstrap
# (FROM debian:bookworm / bookworm-slim resolve to it; nothing is pulled).
#
#   dockerfiles/buildah-local.sh operator             # builds accel-operator:0.1.0, runs --version
#   dockerfiles/buildah-local.sh worker-cpu           # builds accel-worker:cpu, runs accel --version
#   dockerfiles/buildah-local.sh operator --target build   # extra args go to `buildah bud`
#
# Needs root and the Debian packages buildah and debootstrap (apt-get install -y buildah
# debootstrap). The cuda variant needs NVIDIA's base images and cannot be built this way.
# What works and what does not in this sandbox: dockerfiles/README.md.
source "$(dirname "$0")/../scripts/lib.sh"

what=${1:-}; shift || true
case "$what" in
  operator) file=operator.Dockerfile tag=localhost/accel-operator:0.1.0
            probe=(/usr/local/bin/accel-operator --version) bargs=() ;;
  worker-cpu) file=worker.Dockerfile tag=localhost/accel-worker:cpu
            probe=(/usr/local/bin/accel --version) bargs=(--build-arg VARIANT=cpu) ;;
  *) die "usage: $0 operator|worker-cpu [buildah bud args...]" ;;
esac
for t in buildah debootstrap; do command -v $t >/dev/null || die "$t missing: apt-get install -y buildah debootstrap"; done

B=(buildah --storage-driver vfs)
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

# --format docker: with the OCI format buildah ignores SHELL (pipefail) even during the build.
cd "$ACCEL_ROOT"
"${B[@]}" bud --layers --isolation chroot --pull=never --format docker \
  --ignorefile "dockerfiles/$file.dockerignore" -f "dockerfiles/$file" -t "$tag" \
  "${bargs[@]}" "$@" .

# The default OCI runtime cannot start containers here; chroot isolation can.
ctr=$("${B[@]}" from --pull=never "$tag")
trap '"${B[@]}" rm "$ctr" >/dev/null' EXIT
"${B[@]}" run --isolation chroot "$ctr" -- "${probe[@]}"
