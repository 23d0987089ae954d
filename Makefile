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
# NODES=2: two nodes, each its own containerd and kubelet, pods on the one bridge (docs/node.md).
NODES ?= 1
NODE_FLAG = $(if $(filter 1,$(NODE)),--node --nodes $(NODES))
# The node's runtime: containerd 2 (default; built from its Go module by hack/build-containerd.sh,
# cached per version) or CONTAINERD=1.6 (Debian's package). Passed on as IRONFLOW_CONTAINERD.
CONTAINERD ?= $(or $(IRONFLOW_CONTAINERD),2)
export IRONFLOW_CONTAINERD := $(CONTAINERD)
# K8S_VERSION=1.33 (a supported minor, or a full version of one): the control plane and node built
# and started at that version (cached per version); default the newest. Table:
# testbed/ironflow_testbed/binaries.py.
export K8S_VERSION

# The build script reuses its cache and prints the binary directory as its last stdout line.
CP_DIR = $$(hack/build-control-plane.sh | tail -n 1)
# The same for containerd 2, named to the node explicitly (tests run with a scratch HOME).
CONTAINERD_ENV = $(if $(filter 1 1.6,$(CONTAINERD)),,export IRONFLOW_CONTAINERD_DIR="$$(hack/build-containerd.sh | tail -n 1)";)
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
install: $(VENV)/.installed ## create .venv and install ironflow and its test bed (editable) with the test tools

# The test bed (testbed/: control plane, node, image writer) is its own distribution, outside the
# operator's wheel and image; development and CI install both, editable.
$(VENV)/.installed: pyproject.toml testbed/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[cli,test]' -e ./testbed
	touch $@

.PHONY: control-plane
control-plane: ## build (first time, ~10-25 min) or reuse etcd, kube-apiserver, kube-controller-manager, kubectl, helm, node binaries
	@echo "control-plane binaries: $(CP_DIR)"

.PHONY: node-deps
node-deps: ## runc, CNI plugins, busybox-static, containerd 1.6 (Debian packages); containerd 2 built (cached)
	hack/install-node-deps.sh
	$(if $(filter 1 1.6,$(CONTAINERD)),,hack/build-containerd.sh >/dev/null)

.PHONY: cluster
cluster: install $(if $(filter 1,$(NODE)),node-deps) ## start a local cluster in the background, with a real node unless NODE=0 (NODES=2, K8S_VERSION=1.33, CONTAINERD=1.6 choose)
	$(if $(filter 1,$(NODE)),$(CONTAINERD_ENV)) $(BIN)/python -m ironflow_testbed up $(NODE_FLAG) --dir $(CLUSTER_DIR) --bin-dir "$(CP_DIR)"

.PHONY: cluster-status
cluster-status: install ## is the local control plane running and ready?
	$(BIN)/python -m ironflow_testbed status --dir $(CLUSTER_DIR)

.PHONY: cluster-down
cluster-down: ## stop the local cluster; no process, mount, bridge, cgroup or changed sysctl is left behind
	@if [ -x $(BIN)/python ]; then $(BIN)/python -m ironflow_testbed down --dir $(CLUSTER_DIR); \
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
	$(BIN)/ruff check operator testbed tests hack benchmarks

.PHONY: typecheck
typecheck: install ## mypy --strict on the package and the test bed
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

# The release version is written once, in pyproject.toml; the image tag, the chart (make manifests)
# and the package all come from it (tests/unit/test_version.py checks every copy).
# The API-facing suite: what every supported Kubernetes version must pass (docs/install.md):
# CRDs with their validation, the webhook over TLS with its match conditions, projection, rollouts.
# `K8S_VERSION=1.33 make integration-api` runs it on the oldest supported version; for that the
# node's binaries are not needed (IRONFLOW_CP_NODE=0 builds the control plane alone).
API_SUITE = tests/integration/test_crds.py tests/integration/test_webhook_admission.py \
	tests/integration/test_operator_lifecycle.py tests/integration/test_rollouts.py

.PHONY: integration-api
integration-api: install ## the API-facing integration tests (any K8S_VERSION; control plane built without node parts)
	export IRONFLOW_CP_DIR="$$(IRONFLOW_CP_NODE=0 hack/build-control-plane.sh | tail -n 1)"; \
	want="Kubernetes $$(hack/build-control-plane.sh --print-version)"; \
	have="$$("$$IRONFLOW_CP_DIR/kube-apiserver" --version)"; \
	if [ -n "$${K8S_VERSION:-}" ] && [ "$$have" != "$$want" ]; then \
	  echo "error: K8S_VERSION=$$K8S_VERSION asks for $$want, $$IRONFLOW_CP_DIR has $$have (unset IRONFLOW_CP_DIR)" >&2; exit 1; \
	fi; \
	echo "integration-api: $$have from $$IRONFLOW_CP_DIR"; \
	$(call pytest,$(API_SUITE) -m integration $(PYTEST_CLUSTER) $(PYTEST_ARGS))

# CI's second version: the oldest supported minor (the first of the table), API suite only. Its
# control plane is built without node parts, etcd and helm copied from the newest's cache: from a
# cold cache kube-apiserver, kube-controller-manager and kubectl in one go build (docs/install.md).
OLDEST_K8S = $$(hack/build-control-plane.sh --print-minors | head -n 1)
.PHONY: integration-oldest
integration-oldest: install ## the API-facing integration tests on the oldest supported Kubernetes version (part of make test)
	start=$$(date +%s); oldest=$(OLDEST_K8S); \
	rc=0; $(MAKE) integration-api K8S_VERSION="$$oldest" IRONFLOW_CP_DIR= IRONFLOW_K8S_VERSION= || rc=$$?; \
	echo "integration-oldest: Kubernetes $$oldest, build (if any) and API suite took $$(( $$(date +%s) - start ))s"; \
	exit $$rc

IMAGE_VERSION := $(shell sed -nE 's/^version = "([^"]+)"/\1/p' pyproject.toml | head -n1)
IMAGE ?= ghcr.io/ironflow/ironflow-operator:$(IMAGE_VERSION)
IMAGE_ARCHIVE ?= .build/ironflow-operator-$(IMAGE_VERSION).oci.tar

.PHONY: version
version: ## print the release version (pyproject.toml) and the image it names
	@echo $(IMAGE_VERSION)
	@echo $(IMAGE)

.PHONY: image
image: ## the operator image as an OCI archive, without Docker (mmdebstrap + pinned wheels + umoci) -> .build/
	hack/install-image-tools.sh
	IRONFLOW_IMAGE="$(IMAGE)" PYTHON=$(PYTHON) hack/build-image.sh $(IMAGE_ARCHIVE)

# The local node runs its own containerd: its socket is $(CLUSTER_DIR)/node/containerd.sock, not
# /run/containerd/containerd.sock, so plain `ctr images import` cannot reach it.
.PHONY: image-import
image-import: install ## import the image archive (make image) into the running local node's containerd
	$(BIN)/python -m ironflow_testbed import-image --dir $(CLUSTER_DIR) $(IMAGE_ARCHIVE)

.PHONY: image-test
image-test: install image ## build the image, then check the archive (user, entry point, contents, pins)
	export IRONFLOW_IMAGE_ARCHIVE="$(IMAGE_ARCHIVE)" IRONFLOW_IMAGE="$(IMAGE)"; \
	$(call pytest,tests/image -m image $(PYTEST_ARGS))

# Not part of `make test`: on demand, when a release is cut (docs/releasing.md). Builds from the
# committed tree (git archive HEAD); two runs of one commit give the same SHA256SUMS.
.PHONY: release
release: install control-plane ## wheel, sdist, chart, image archive, SBOMs and SHA256SUMS of HEAD -> dist/release-<version>/
	hack/install-image-tools.sh
	tools="$$(hack/release-tools.sh | tail -n 1)"; \
	$(BIN)/python hack/release.py --tools "$$tools" --helm "$(CP_DIR)/helm"

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
	export IRONFLOW_CP_DIR="$(CP_DIR)"; $(CONTAINERD_ENV) \
	$(call pytest,tests/node -m node $(PYTEST_ARGS))

# The chart installed with helm on the node, running the image `make image` built: in-cluster
# credentials, self-managed webhook certificates, fail-over, an upgrade under load, on two nodes a
# drain and a lost node (a second node for that module), and the upgrade
# from the previous release (PREVIOUS_RELEASE: its last commit, built once from git history into
# ~/.cache/ironflow/releases by hack/build-previous-release.sh) (docs/install.md).
PREVIOUS_RELEASE ?= 882522066eae2b7e760464205dc9ee9c84d620c8
.PHONY: incluster
incluster: install control-plane node-deps image ## helm install on the real node: the operator image in pods, HA, upgrade under load, upgrade from the previous release
	export IRONFLOW_CP_DIR="$(CP_DIR)"; $(CONTAINERD_ENV) \
	previous="$$(hack/build-previous-release.sh $(PREVIOUS_RELEASE) | tail -n 1)"; \
	export IRONFLOW_PREVIOUS_RELEASE_DIR="$$previous"; \
	$(call pytest,tests/incluster -m node $(PYTEST_ARGS))

.PHONY: test
test: install control-plane lint typecheck imports crds-check chart-lint unit integration integration-oldest node incluster e2e image-test ## everything CI runs: lint, types, contracts, CRD copies, unit, integration (also the API suite on the oldest supported version), node, e2e, image
	@echo "make test: all checks passed"

.PHONY: run
run: install $(if $(filter 1,$(NODE)),node-deps) ## the operator in the foreground: local cluster with a node + dev key, or KUBECONFIG=PATH make run
	$(if $(filter 1,$(NODE)),$(CONTAINERD_ENV)) BIN=$(BIN) CLUSTER_DIR=$(CLUSTER_DIR) NODE=$(NODE) hack/run.sh $(RUN_ARGS)

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
.PHONY: bench-compare
bench-compare: install control-plane ## the operator of another revision beside this one at N = 2,000, one run -> docs/benchmarks.md (COMPARE_ARGS="--before REV")
	IRONFLOW_CP_DIR="$(CP_DIR)" $(BIN)/python benchmarks/compare.py $(COMPARE_ARGS)

# At 100,000 a whole run takes many hours: run it in parts, each adding to the results of the
# earlier ones, e.g. SCALE_ARGS="--replicas 4 --no-peer", later SCALE_ARGS="--replicas 1,2 --merge
# .build/bench-scale-results.json" (one table over both; a replica count measured again replaces
# the older figure). Progress goes to stderr; `make bench-scale-render` redraws the table alone.
.PHONY: bench-scale
bench-scale: install control-plane ## 1, 2 and 4 replicas sharing 100,000 resources in 1,000 namespaces, a kill, Sealed Secrets at the same N -> docs/benchmarks.md (SCALE_ARGS="--resources 2000 --namespaces 20 --replicas 1,2" for a small run; "--replicas 4 --no-peer", then "--replicas 1,2 --merge .build/bench-scale-results.json" in parts)
	peer="$$(hack/build-sealed-secrets.sh | tail -n 1)"; \
	IRONFLOW_CP_DIR="$(CP_DIR)" $(BIN)/python benchmarks/scale_bench.py --peer-dir "$$peer" $(SCALE_ARGS)

.PHONY: bench-scale-render
bench-scale-render: install ## bench-scale's tables of the results measured so far, no cluster -> docs/benchmarks.md (SCALE_ARGS="--merge A.json --merge B.json" for other results files)
	$(BIN)/python benchmarks/scale_bench.py --render-only $(SCALE_ARGS)

.PHONY: bench
bench: install control-plane ## Ironflow beside Sealed Secrets (built from its Go module) on the embedded control plane -> docs/benchmarks.md (BENCH_ARGS="--quick" for a smoke run)
	peer="$$(hack/build-sealed-secrets.sh | tail -n 1)"; \
	IRONFLOW_CP_DIR="$(CP_DIR)" $(BIN)/python benchmarks/bench.py --peer-dir "$$peer" $(BENCH_ARGS)
