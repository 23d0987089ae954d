# syntax=docker/dockerfile:1
# The Ironflow operator image: ghcr.io/ironflow/ironflow-operator:<version>.
# Two stages: build a wheel with the build tools, install only the wheel and its runtime
# dependencies into a slim image that runs as a non-root user with a read-only root filesystem.
#   docker build -t ghcr.io/ironflow/ironflow-operator:0.1.0 .

FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md* ./
COPY operator ./operator
RUN pip wheel --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
LABEL org.opencontainers.image.title="ironflow-operator" \
      org.opencontainers.image.description="Kubernetes operator for sealed secrets and config per environment" \
      org.opencontainers.image.source="https://github.com/ironflow/ironflow" \
      org.opencontainers.image.licenses="Apache-2.0"
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1
COPY --from=build /wheels /wheels
RUN pip install /wheels/*.whl && rm -rf /wheels \
 && groupadd --system --gid 65532 ironflow \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ironflow
# Numeric, so Kubernetes can verify runAsNonRoot without resolving the name.
USER 65532:65532
WORKDIR /tmp
# 8080 /metrics, 8081 /healthz and /readyz, 9443 the pod webhook (HTTPS).
EXPOSE 8080 8081 9443
ENTRYPOINT ["ironflow-operator"]
CMD ["--in-cluster"]
