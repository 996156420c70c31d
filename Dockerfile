# syntax=docker/dockerfile:1
#
# escucha container image.
#
#   docker build -t escucha .
#   docker run --rm -v "$PWD/pipelines:/etc/escucha/pipelines:ro" \
#       -e ESCUCHA_KAFKA_BROKERS=kafka:9092 \
#       -e ESCUCHA_CLICKHOUSE_URL=http://clickhouse:8123 escucha
#
# docker-compose.yml builds and runs it together with Kafka, ClickHouse and
# Grafana.

# ---------------------------------------------------------------------------
# Build stage
# ---------------------------------------------------------------------------
FROM rust:1-bookworm AS builder

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# librdkafka is built from the copy bundled with the rdkafka crate (its
# configure script needs a C toolchain, python3 and the development headers).
# Package versions follow the Debian release of the base image.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        build-essential \
        libsasl2-dev \
        libssl-dev \
        pkg-config \
        python3 \
        zlib1g-dev \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .

# The registry and target caches survive between builds; the binary is copied
# out of the cache mount in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p escucha \
    && install -D -m 0755 target/release/escucha /out/escucha

# ---------------------------------------------------------------------------
# Web dashboard: npm packages from the lockfile, bundled by esbuild
# ---------------------------------------------------------------------------
FROM node:20-bookworm-slim AS web

WORKDIR /web
COPY dashboards/web/package.json dashboards/web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY dashboards/web/ ./
RUN node build.mjs

# ---------------------------------------------------------------------------
# Runtime stage
# ---------------------------------------------------------------------------
FROM debian:bookworm-slim

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# ca-certificates for TLS connections to Kafka or ClickHouse, curl for the
# container health check.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        ca-certificates \
        curl \
        libsasl2-2 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 escucha \
    && useradd --system --uid 10001 --gid escucha --home-dir /var/lib/escucha \
        --create-home --shell /usr/sbin/nologin escucha

COPY --from=builder /out/escucha /usr/local/bin/escucha
COPY pipelines/ /etc/escucha/pipelines/
COPY --from=web /web/dist/ /usr/share/escucha/dashboard/

# Fail the build, not the first start, if a shared library is missing.
RUN ldd /usr/local/bin/escucha >/tmp/ldd.txt \
    && if grep 'not found' /tmp/ldd.txt; then exit 1; fi \
    && rm /tmp/ldd.txt

USER 10001:10001
WORKDIR /var/lib/escucha

# ESCUCHA_HOME holds state escucha creates itself (the customer-key secret);
# mount a volume there to keep it.
ENV ESCUCHA_HOME=/var/lib/escucha \
    ESCUCHA_API_BIND=0.0.0.0:8080 \
    ESCUCHA_LOG=info,rdkafka=warn
EXPOSE 8080

ENTRYPOINT ["escucha"]
CMD ["run", "--pipelines", "/etc/escucha/pipelines", "--dashboard", "/usr/share/escucha/dashboard"]
