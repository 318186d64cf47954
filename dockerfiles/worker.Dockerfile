# syntax=docker/dockerfile:1
# accel worker image: the `accel` CLI (its `launch` is every worker pod's entrypoint), the
# example trainers accel-train-gpt / accel-train-mlp (linked with libaccel) and LibTorch's
# shared libraries. Build from the repository root:
#   docker build -f dockerfiles/worker.Dockerfile --build-arg VARIANT=cpu  -t accel-worker:cpu .
#   docker build -f dockerfiles/worker.Dockerfile --build-arg VARIANT=cuda -t accel-worker:cuda .
#
# cpu:  Debian bookworm; LibTorch from the torch wheel via scripts/setup-libtorch.sh (CPU
#       libraries only, Gloo); runtime debian:bookworm-slim.
# cuda: the same Debian stages, no NVIDIA base image: scripts/setup-cuda.sh --runtime takes the
#       CUDA 13 libraries torch 2.11.0 pins from their PyPI wheels (docs/cuda.md), the CUDA build
#       of libaccel links them, and the runtime stage carries them as a site-packages tree
#       (/opt/accel/site: torch/lib beside nvidia/*/lib, as libtorch_cuda's RUNPATH expects).
#       The driver (libcuda, libnvidia-ml) is not in the image: the NVIDIA container toolkit
#       mounts it into pods that request nvidia.com/gpu.
# Both run as UID/GID 65532. Shared libraries the binaries need (besides glibc/libstdc++)
# are collected with ldd into /opt/accel/lib, so the runtime stages install no -dev packages.
ARG VARIANT=cpu
ARG DEBIAN_RELEASE=bookworm

# ---- build stages (one per variant; the runtime stage picks one) -----------------------------
FROM debian:${DEBIAN_RELEASE} AS build-cpu
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Only where PyPI sits behind a TLS-intercepting proxy: the proxy's CA bundle, mounted for the
# build (dockerfiles/buildah-local.sh does it). Unset, pip verifies against the system CAs.
ARG PIP_CERT
ENV ACCEL_CACHE=/cache
WORKDIR /src
COPY scripts/ scripts/
RUN bash scripts/setup-deps.sh \
 && apt-get install -y --no-install-recommends python3-pip \
 && rm -rf /var/lib/apt/lists/*
# Downloads the pinned, hash-checked torch wheel from PyPI and unpacks LibTorch into /cache.
RUN bash scripts/setup-libtorch.sh && rm -rf /cache/downloads
COPY . .
RUN cmake --preset release -DACCEL_BUILD_TESTS=OFF -DACCEL_LIBTORCH_DIR=/cache/libtorch-2.11.0 \
 && cmake --build --preset release --target accel-cli accel-train-gpt accel-train-mlp -j 2 \
 && mkdir -p /out/bin /out/site \
 && cp build/release/cli/accel build/release/examples/accel-train-gpt \
       build/release/examples/accel-train-mlp /out/bin/

FROM debian:${DEBIAN_RELEASE} AS build-cuda
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ARG PIP_CERT
ENV ACCEL_CACHE=/cache
WORKDIR /src
COPY scripts/ scripts/
RUN bash scripts/setup-deps.sh \
 && apt-get install -y --no-install-recommends python3-pip \
 && rm -rf /var/lib/apt/lists/*
# The pinned, hash-checked torch and NVIDIA wheels from PyPI, unpacked; the wheels are dropped.
RUN bash scripts/setup-libtorch.sh && bash scripts/setup-cuda.sh --runtime && rm -rf /cache/downloads
COPY . .
RUN cmake --preset release -DACCEL_BUILD_TESTS=OFF -DACCEL_BUILD_OPERATOR=OFF -DACCEL_WITH_CUDA=ON \
      -DACCEL_LIBTORCH_DIR=/cache/libtorch-2.11.0 -DACCEL_TORCH_CUDA_DIR=/cache/torch-cuda-2.11.0 \
 && cmake --build --preset release --target accel-cli accel-train-gpt-cuda accel-train-mlp-cuda -j 2 \
 && mkdir -p /out/bin /out/site \
 && cp build/release/cli/accel build/release/cuda/accel-train-gpt build/release/cuda/accel-train-mlp \
       /out/bin/ \
 && cp -a /cache/torch-cuda-2.11.0/torch /cache/torch-cuda-2.11.0/nvidia /out/site/ \
 && rm -rf /out/site/nvidia/*/include

# DL3006 (untagged image) misreads a stage picked by an ARG; dockerfile_lint_test resolves it.
# SHELL again: hadolint does not carry SHELL over from the stage a FROM names (DL4006).
# hadolint ignore=DL3006
FROM build-${VARIANT} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Every shared library the binaries load, except the C runtime the runtime base provides and the
# CUDA build's torch and NVIDIA libraries (already in /out/site, in their own layout).
RUN mkdir -p /out/lib \
 && ldd /out/bin/* | awk '/=> \// {print $3}' | sort -u \
    | grep -Ev '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so' \
    | grep -v '^/cache/torch-cuda-' \
    | xargs -r cp -L -t /out/lib/ \
 && strip --strip-unneeded /out/bin/*

# ---- runtime stages ---------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime-cpu
FROM debian:${DEBIAN_RELEASE}-slim AS runtime-cuda
# What the NVIDIA container toolkit mounts: the CUDA driver (compute) and NVML (utility, for the
# GPU utilisation metric). NVIDIA_VISIBLE_DEVICES is left to the device plugin: an image that
# said "all" would hand every GPU of a node to a pod that requested none.
ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility

# DL3006 misreads a stage picked by an ARG; dockerfile_lint_test resolves it.
# hadolint ignore=DL3006
FROM runtime-${VARIANT} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN (getent group 65532 || groupadd --gid 65532 accel) \
 && useradd --uid 65532 --gid 65532 --create-home --home-dir /home/accel \
      --shell /usr/sbin/nologin accel \
 && mkdir -p /workspace && chown 65532:65532 /workspace
COPY --from=build /out/bin/ /usr/local/bin/
COPY --from=build /out/lib/ /opt/accel/lib/
COPY --from=build /out/site/ /opt/accel/site/
# cpu: everything in /opt/accel/lib. cuda: the torch and NVIDIA libraries in /opt/accel/site
# (libtorch_cuda finds the NVIDIA ones itself through its RUNPATH; the binaries call the CUDA
# runtime directly, hence nvidia/cu13/lib here too).
ENV LD_LIBRARY_PATH=/opt/accel/lib:/opt/accel/site/torch/lib:/opt/accel/site/nvidia/cu13/lib
# Fails the build when a shared library is missing from this stage.
RUN for b in /usr/local/bin/accel /usr/local/bin/accel-train-gpt /usr/local/bin/accel-train-mlp; do \
      ! ldd "$b" | grep -q 'not found' || { ldd "$b"; exit 1; }; \
    done
USER 65532:65532
WORKDIR /workspace
# Rank r of a node serves /metrics on ACCEL_METRICS_PORT + r (9400 by default).
EXPOSE 9400
LABEL org.opencontainers.image.title="accel-worker" \
      org.opencontainers.image.description="Accel worker: accel launch, libaccel trainers, LibTorch" \
      org.opencontainers.image.version="0.1.0"
ENTRYPOINT ["/usr/local/bin/accel", "launch"]
