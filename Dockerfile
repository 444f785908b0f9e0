# syntax=docker/dockerfile:1
# logsieve's container image: a build stage with a compiler makes wheels (PyPcre builds from
# source), the runtime stage installs those wheels only, with no compiler, and runs as a
# user of its own. Build: `docker build -t logsieve .`
# Without a registry, BASE_IMAGE can name a Debian 12 image built from Debian's packages
# (deploy/base-image.sh); the default is Debian's own slim image.
ARG BASE_IMAGE=debian:bookworm-slim

FROM ${BASE_IMAGE} AS build
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev libpcre2-dev python3-dev python3-venv \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# Behind a proxy that re-signs TLS, pass its CA bundle for PyPI:
#   --secret id=ca-certificates,src=/etc/ssl/certs/ca-certificates.crt
RUN --mount=type=secret,id=ca-certificates \
    if [ -s /run/secrets/ca-certificates ]; then export PIP_CERT=/run/secrets/ca-certificates; fi \
 && python3 -m venv /opt/build \
 && /opt/build/bin/pip wheel --no-cache-dir --wheel-dir /wheels '.[postgres]'

FROM ${BASE_IMAGE}
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv libpcre2-8-0 \
 && apt-get clean \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 logsieve \
 && useradd --system --uid 10001 --gid logsieve --home-dir /var/lib/logsieve \
    --shell /usr/sbin/nologin logsieve \
 && install -d -o logsieve -g logsieve -m 0750 /var/lib/logsieve
# The wheels are mounted for this one step, not copied: they stay out of the image's layers.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python3 -m venv /opt/logsieve \
 && /opt/logsieve/bin/pip install --no-cache-dir --no-index --find-links /wheels 'logsieve[postgres]'
COPY deploy/logsieve.yaml /etc/logsieve/logsieve.yaml
COPY deploy/healthcheck.py /opt/logsieve/healthcheck.py
ENV PATH=/opt/logsieve/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
WORKDIR /var/lib/logsieve
VOLUME ["/var/lib/logsieve"]
# OTLP gRPC, OTLP/HTTP, the live page, /metrics /healthz /readyz
EXPOSE 4317 4318 8080 8890
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python3", "/opt/logsieve/healthcheck.py"]
ENTRYPOINT ["logsieve"]
CMD ["run", "--config", "/etc/logsieve/logsieve.yaml"]
