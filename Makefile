# Ironflow: the one entry point for developers and CI. `make help` lists the targets.
#
# Safety: no target ever talks to a cluster it did not start or that was not named on purpose.
# In-cluster hints are removed from the environment of every recipe; tests start their own
# control plane (or use KUBECONFIG_TEST=PATH, passed to pytest as --kubeconfig).

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory
unexport KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CLUSTER_DIR ?= .cluster
KUBECONFIG_TEST ?=
PYTEST_ARGS ?=
# NODE=1: `make cluster` / `make run` also start a real node (containerd, kubelet, scheduler: root
# only, docs/node.md); NODE=0 gives the control plane alone.
NODE ?= 1
NODE_FLAG = $(if $(filter 1,$(NODE)),--node)

# The build script reuses its cache and prints the binary directory as its last stdout line.
CP_DIR = $$(hack/build-control-plane.sh | tail -n 1)
PYTEST_CLUSTER = $(if $(KUBECONFIG_TEST),--kubeconfig $(KUBECONFIG_TEST))

# pytest exit code 5 means "no tests collected": for us that is always a mistake, say so.
define pytest
	rc=0; $(BIN)/pytest $(1) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests for: $(1)" >&2; fi; \
	exit $$rc
endef

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

.PHONY: install
install: $(VENV)/.installed ## create .venv and install ironflow with its test tools

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@

.PHONY: control-plane
control-plane: ## build (first time, ~10-25 min) or reuse etcd, kube-apiserver, kube-controller-manager, kubectl, helm, node binaries
	@echo "control-plane binaries: $(CP_DIR)"

.PHONY: node-deps
node-deps: ## containerd, runc, CNI plugins, busybox-static from Debian packages (quick when installed)
	hack/install-node-deps.sh

.PHONY: cluster
cluster: install $(if $(filter 1,$(NODE)),node-deps) ## start a local cluster in the background, with a real node unless NODE=0 (kubeconfig: .cluster/kubeconfig)
	$(BIN)/python -m ironflow.envtest up $(NODE_FLAG) --dir $(CLUSTER_DIR) --bin-dir "$(CP_DIR)"

.PHONY: cluster-status
cluster-status: install ## is the local control plane running and ready?
	$(BIN)/python -m ironflow.envtest status --dir $(CLUSTER_DIR)

.PHONY: cluster-down
cluster-down: ## stop the local cluster; no process, mount, bridge, cgroup or changed sysctl is left behind
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m ironflow.envtest down --dir $(CLUSTER_DIR); \
	else echo "no $(VENV): nothing was started"; fi

.PHONY: crds
crds: install control-plane ## regenerate crds/ (hack/gen-crds.py), then its copies in the chart and manifests/
	$(BIN)/python hack/gen-crds.py crds
	HELM="$(CP_DIR)/helm" $(BIN)/python hack/gen-manifests.py

.PHONY: reference
reference: install ## regenerate the tables of docs/reference.md and charts/ironflow/README.md (fields from crds/, values from the chart's schema)
	$(BIN)/python hack/gen-reference.py

.PHONY: manifests
manifests: install control-plane ## regenerate manifests/ from the chart (hack/gen-manifests.py)
	HELM="$(CP_DIR)/helm" $(BIN)/python hack/gen-manifests.py

.PHONY: crds-check
crds-check: install control-plane ## fail if crds/, its copies (chart, manifests/) or manifests/ are stale
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BIN)/python hack/gen-crds.py "$$tmp"; \
	diff -ru "$$tmp" crds || { echo "crds/ is stale: run make crds" >&2; exit 1; }
	HELM="$(CP_DIR)/helm" PYTHON=$(BIN)/python hack/check-crd-copies.sh

.PHONY: lint
lint: install ## ruff
	$(BIN)/ruff check operator tests hack benchmarks

.PHONY: typecheck
typecheck: install ## mypy --strict on the package
	$(BIN)/mypy

.PHONY: imports
imports: install ## import-linter layering contracts
	$(BIN)/lint-imports

# Unit tests run in random order (pytest-random-order; the seed is printed at the top of the run):
# reproduce an order with PYTEST_ARGS="--random-order-seed=N", or ask for file order with UNIT_ORDER=.
UNIT_ORDER ?= --random-order

.PHONY: unit
unit: install ## unit tests (no cluster), in random order with the seed printed
	$(call pytest,tests/unit -m "not integration and not e2e" $(UNIT_ORDER) $(PYTEST_ARGS))

.PHONY: integration
integration: install control-plane ## integration tests on a real API server started by the fixtures
	export IRONFLOW_CP_DIR="$(CP_DIR)"; \
	$(call pytest,tests/integration -m integration $(PYTEST_CLUSTER) $(PYTEST_ARGS))

IMAGE_VERSION := $(shell sed -nE 's/^version = "([^"]+)"/\1/p' pyproject.toml | head -n1)
IMAGE ?= ghcr.io/ironflow/ironflow-operator:$(IMAGE_VERSION)
IMAGE_ARCHIVE ?= .build/ironflow-operator-$(IMAGE_VERSION).oci.tar

.PHONY: image
image: ## the operator image as an OCI archive, without Docker (mmdebstrap + pinned wheels + umoci) -> .build/
	hack/install-image-tools.sh
	IRONFLOW_IMAGE="$(IMAGE)" PYTHON=$(PYTHON) hack/build-image.sh $(IMAGE_ARCHIVE)

.PHONY: image-test
image-test: install image ## build the image, then check the archive (user, entry point, contents, pins)
	export IRONFLOW_IMAGE_ARCHIVE="$(IMAGE_ARCHIVE)" IRONFLOW_IMAGE="$(IMAGE)"; \
	$(call pytest,tests/image -m image $(PYTEST_ARGS))

.PHONY: lock
lock: ## re-pin requirements/operator.lock (hashes) from pyproject.toml's dependencies
	tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; "$$tmp/venv/bin/pip" install --quiet pip-tools; \
	PIP_FIND_LINKS= "$$tmp/venv/bin/pip-compile" --quiet --generate-hashes --strip-extras --allow-unsafe \
	  --no-emit-find-links --no-emit-index-url -o requirements/operator.lock pyproject.toml

# Node tests start their own control plane and one node (containerd, kubelet) per session; in CI
# (CI=true) a node test that cannot run fails instead of skipping.
.PHONY: node
node: install control-plane node-deps ## tests on a real node: pods run, their processes print what they received
	export IRONFLOW_CP_DIR="$(CP_DIR)"; \
	$(call pytest,tests/node -m node $(PYTEST_ARGS))

# The chart installed with helm on the node, running the image `make image` built: in-cluster
# credentials, self-managed webhook certificates, fail-over, an upgrade under load (docs/install.md).
.PHONY: incluster
incluster: install control-plane node-deps image ## helm install on the real node: the operator image in pods, HA, upgrade under load
	export IRONFLOW_CP_DIR="$(CP_DIR)"; \
	$(call pytest,tests/incluster -m node $(PYTEST_ARGS))

.PHONY: test
test: install control-plane lint typecheck imports crds-check chart-lint unit integration node incluster e2e image-test ## everything CI runs: lint, types, contracts, CRD copies, unit, integration, node, e2e, image
	@echo "make test: all checks passed"

.PHONY: run
run: install $(if $(filter 1,$(NODE)),node-deps) ## the operator in the foreground: local cluster with a node + dev key, or KUBECONFIG=PATH make run
	BIN=$(BIN) CLUSTER_DIR=$(CLUSTER_DIR) NODE=$(NODE) hack/run.sh $(RUN_ARGS)

.PHONY: chart-lint
chart-lint: control-plane ## helm lint --strict charts/ironflow
	"$(CP_DIR)/helm" lint --strict charts/ironflow

# e2e installs cluster-wide objects (CRDs, webhook configuration, RBAC) the way a user would, so
# it runs in its own pytest session, on a control plane integration tests have not shaped.
.PHONY: e2e
e2e: install control-plane ## end-to-end: chart and manifests/ on a real API server, operator as its ServiceAccount, CLI journey
	export IRONFLOW_CP_DIR="$(CP_DIR)"; \
	$(call pytest,tests/e2e -m e2e $(PYTEST_CLUSTER) $(PYTEST_ARGS))

# Not part of `make test` or CI: a 2,000/10,000 run takes about an hour of a quiet machine.
.PHONY: bench
bench: install control-plane ## Ironflow beside Sealed Secrets (built from its Go module) on the embedded control plane -> docs/benchmarks.md (BENCH_ARGS="--quick" for a smoke run)
	peer="$$(hack/build-sealed-secrets.sh | tail -n 1)"; \
	IRONFLOW_CP_DIR="$(CP_DIR)" $(BIN)/python benchmarks/bench.py --peer-dir "$$peer" $(BENCH_ARGS)
