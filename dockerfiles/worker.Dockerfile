# syntax=docker/dockerfile:1
# accel worker image: the `accel` CLI (its `launch` is every worker pod's entrypoint), the
# example trainers accel-train-gpt / accel-train-mlp (linked with libaccel) and LibTorch's
# shared libraries. Build from the repository root:
#   docker build -f dockerfiles/worker.Dockerfile --build-arg VARIANT=cpu  -t accel-worker:cpu .
#   docker build -f dockerfiles/worker.Dockerfile --build-arg VARIANT=cuda -t accel-worker:cuda .
#
# cpu:  Debian bookworm; LibTorch from the torch wheel via scripts/setup-libtorch.sh (CPU
#       libraries only, Gloo); runtime debian:bookworm-slim.
# cuda: built on NVIDIA's CUDA devel image with the full torch wheel (TorchConfig.cmake,
#       libtorch_cuda, NCCL) and the `gpu` preset; runtime NVIDIA's CUDA runtime image.
#       CUDA_VERSION must match the CUDA the torch wheel was built for (torch 2.11: CUDA 13).
# Both run as UID/GID 65532. Shared libraries the binaries need (besides glibc/libstdc++)
# are collected with ldd into /opt/accel/lib, so the runtime stages install no -dev packages.
ARG VARIANT=cpu
ARG DEBIAN_RELEASE=bookworm
ARG CUDA_VERSION=13.0.1
ARG TORCH_VERSION=2.11.0

# ---- build stages (one per variant; the runtime stage picks one) -----------------------------
FROM debian:${DEBIAN_RELEASE} AS build-cpu
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
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
 && mkdir -p /out/bin \
 && cp build/release/worker/accel build/release/examples/accel-train-gpt \
       build/release/examples/accel-train-mlp /out/bin/

FROM nvidia/cuda:${CUDA_VERSION}-cudnn-devel-ubuntu24.04 AS build-cuda
ARG TORCH_VERSION
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV ACCEL_CACHE=/cache DEBIAN_FRONTEND=noninteractive
WORKDIR /src
COPY scripts/ scripts/
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip unzip \
 && bash scripts/setup-deps.sh \
 && rm -rf /var/lib/apt/lists/*
# The full wheel (with libtorch_cuda and TorchConfig.cmake) for find_package(Torch).
RUN pip download --break-system-packages --no-deps --only-binary=:all: -d /tmp/whl \
      "torch==${TORCH_VERSION}" \
 && mkdir -p /opt/torch && unzip -q /tmp/whl/torch-*.whl 'torch/*' -d /opt \
 && rm -rf /tmp/whl
COPY . .
RUN cmake --preset gpu -DACCEL_BUILD_TESTS=OFF -DCMAKE_PREFIX_PATH=/opt/torch/share/cmake \
 && cmake --build --preset gpu --target accel-cli accel-train-gpt accel-train-mlp -j "$(nproc)" \
 && mkdir -p /out/bin \
 && cp build/gpu/worker/accel build/gpu/examples/accel-train-gpt \
       build/gpu/examples/accel-train-mlp /out/bin/

FROM build-${VARIANT} AS build
# Every shared library the binaries load, except the C runtime the runtime base provides.
RUN mkdir -p /out/lib \
 && ldd /out/bin/* | awk '/=> \// {print $3}' | sort -u \
    | grep -Ev '/(libc|libm|libdl|libpthread|librt|ld-linux[^/]*|libstdc\+\+|libgcc_s)\.so' \
    | xargs -r cp -L -t /out/lib/ \
 && strip --strip-unneeded /out/bin/*

# ---- runtime stages ---------------------------------------------------------------------------
FROM debian:${DEBIAN_RELEASE}-slim AS runtime-cpu
FROM nvidia/cuda:${CUDA_VERSION}-runtime-ubuntu24.04 AS runtime-cuda

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
ENV LD_LIBRARY_PATH=/opt/accel/lib
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
