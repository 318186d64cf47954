# syntax=docker/dockerfile:1
# accel-operator image. Build from the repository root:
#   docker build -f dockerfiles/operator.Dockerfile -t accel-operator:0.1.0 .
#
# Stage 1 builds on Debian bookworm with the packages of scripts/setup-deps.sh (the same list
# developers and CI use); stage 2 is bookworm-slim with only the shared libraries the operator
# loads, running as UID/GID 65532 (the chart's runAsUser).
ARG DEBIAN_RELEASE=bookworm

FROM debian:${DEBIAN_RELEASE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY scripts/ scripts/
# setup-deps.sh installs with --no-install-recommends; the lists are dropped in the same layer.
RUN bash scripts/setup-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# The operator needs no LibTorch: the worker is left out.
RUN cmake --preset release -DACCEL_BUILD_WORKER=OFF -DACCEL_BUILD_TESTS=OFF \
 && cmake --build --preset release --target accel-operator -j "$(nproc)" \
 && install -D -m 0755 "$(find build/release -type f -name accel-operator -perm -u+x | head -n 1)" \
      /out/usr/local/bin/accel-operator \
 && strip /out/usr/local/bin/accel-operator

FROM debian:${DEBIAN_RELEASE}-slim AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Runtime libraries only: cpprestsdk, yaml-cpp, OpenSSL, prometheus-cpp (core, pull), libmicrohttpd.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      ca-certificates libcpprest2.10 libyaml-cpp0.7 libssl3 \
      libprometheus-cpp-core1.0 libprometheus-cpp-pull1.0 libmicrohttpd12 \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 65532 accel \
 && useradd --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin accel
COPY --from=build /out/ /
# Fails the build when a shared library is missing from this stage.
RUN ! ldd /usr/local/bin/accel-operator | grep -q 'not found'
USER 65532:65532
EXPOSE 8080 8081
LABEL org.opencontainers.image.title="accel-operator" \
      org.opencontainers.image.description="Accel: Kubernetes operator for AccelJob distributed training" \
      org.opencontainers.image.version="0.1.0"
ENTRYPOINT ["/usr/local/bin/accel-operator"]
