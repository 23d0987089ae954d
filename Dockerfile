# syntax=docker/dockerfile:1
# The Ironflow operator image: ghcr.io/ironflow/ironflow-operator:<version>, the version being
# pyproject.toml's (`make version` prints both):
#   docker build --build-arg VERSION=$(make -s version | head -n1) -t $(make -s version | tail -n1) .
#
# The same image `make image` (hack/build-image.sh) builds without a Docker engine, from the same
# inputs: Debian bookworm's Python 3.11 (python3.11-minimal + libpython3.11-stdlib, no shell
# tools beyond what they pull, no pip, no compiler), the runtime dependencies pinned with hashes
# in requirements/operator.lock (what the operator imports; no CLI), the ironflow wheel built from
# this tree, byte code compiled at build time (the root filesystem is read-only at run time), user
# 65532.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
COPY requirements/operator.lock pyproject.toml README.md ./
COPY operator ./operator
RUN pip install --no-deps --require-hashes --only-binary=:all: --no-compile --target /site -r operator.lock \
 && pip wheel --no-deps --wheel-dir /wheels . \
 && rm -rf /site/bin && pip install --no-deps --no-compile --target /site /wheels/*.whl \
 && rm -rf /site/bin

FROM debian:bookworm-slim
ARG VERSION=unknown
LABEL org.opencontainers.image.title="ironflow-operator" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.description="Kubernetes operator for sealed secrets and config per environment" \
      org.opencontainers.image.source="https://github.com/ironflow/ironflow" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11-minimal libpython3.11-stdlib \
 && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \
 && ln -sf python3.11 /usr/bin/python3
COPY --from=build /site /usr/lib/python3/dist-packages
# The operator only: the `ironflow` CLI and its Kubernetes client (the `cli` extra) are not installed.
RUN printf '#!/usr/bin/python3.11\nimport sys\nfrom ironflow.controller.entry import main\nsys.exit(main())\n' \
      > /usr/local/bin/ironflow-operator && chmod 0755 /usr/local/bin/ironflow-operator \
 && python3.11 -m compileall -q -j 0 --invalidation-mode unchecked-hash /usr/lib/python3.11 /usr/lib/python3/dist-packages \
 && groupadd --system --gid 65532 ironflow \
 && useradd --system --uid 65532 --gid 65532 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin ironflow
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Numeric, so Kubernetes can verify runAsNonRoot without resolving the name.
USER 65532:65532
WORKDIR /tmp
# 8080 /metrics, 8081 /healthz and /readyz, 9443 the pod webhook (HTTPS).
EXPOSE 8080 8081 9443
ENTRYPOINT ["/usr/local/bin/ironflow-operator"]
CMD ["--in-cluster"]
