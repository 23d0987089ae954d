#!/usr/bin/env bash
# `make run`: the operator in the foreground, against a cluster named on purpose.
#
# - KUBECONFIG unset: start (or reuse) the embedded cluster in $CLUSTER_DIR (with a real node unless
#   NODE=0, so pods run), apply crds/,
#   create a development master key if there is none (and say so), run the operator with its pod
#   webhook on loopback (the local API server can call it there).
# - KUBECONFIG=PATH make run: run against that cluster (e.g. kind). CRDs are applied; no master key is
#   ever created there: without one the operator runs in development mode (--dev-mode) and says so.
# Nothing here reads ~/.kube/config or in-cluster credentials.
set -euo pipefail
unset KUBERNETES_SERVICE_HOST KUBERNETES_SERVICE_PORT

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${BIN:-$ROOT/.venv/bin}
CLUSTER_DIR=${CLUSTER_DIR:-$ROOT/.cluster}
OPERATOR_NAMESPACE=${IRONFLOW_OPERATOR_NAMESPACE:-ironflow-system}
KEY_SECRET=${IRONFLOW_MASTER_KEY_SECRET:-ironflow-master-key}
say() { printf 'make run: %s\n' "$*" >&2; }

if [[ -z "${KUBECONFIG:-}" ]]; then
  CP_DIR=${CP_DIR:-$("$ROOT/hack/build-control-plane.sh" | tail -n 1)}
  node_flag=()
  [[ ${NODE:-1} == 1 ]] && node_flag=(--node)  # a real node: pods run (docs/node.md); NODE=0: none
  "$BIN/python" -m ironflow_testbed up "${node_flag[@]}" --dir "$CLUSTER_DIR" --bin-dir "$CP_DIR"
  export KUBECONFIG=$CLUSTER_DIR/kubeconfig
  KUBECTL=$CLUSTER_DIR/bin/kubectl
  [[ -x $KUBECTL ]] || KUBECTL=$CP_DIR/kubectl
  LOCAL=1
else
  # A list is merged as kubectl merges it, by kubectl and by the operator alike (both read KUBECONFIG).
  found=0
  IFS=: read -r -a listed <<<"$KUBECONFIG"
  for file in "${listed[@]}"; do [[ -n $file && -f $file ]] && found=1; done
  [[ $found == 1 ]] || { say "KUBECONFIG=$KUBECONFIG: no such file"; exit 2; }
  export KUBECONFIG
  KUBECTL=$(command -v kubectl || true)
  if [[ -z $KUBECTL ]]; then
    CP_DIR=${CP_DIR:-$("$ROOT/hack/build-control-plane.sh" | tail -n 1)}
    KUBECTL=$CP_DIR/kubectl
  fi
  LOCAL=0
  say "running against the cluster named by KUBECONFIG=$KUBECONFIG (context $("$KUBECTL" config current-context))"
fi
# A private discovery cache: kubectl caches discovery per server for minutes, and a cache taken
# before the CRDs existed would make the user's next `kubectl get ironflow` fail for no reason.
KUBECTL_CACHE=$(mktemp -d)
k() { "$KUBECTL" --cache-dir "$KUBECTL_CACHE" "$@"; }  # KUBECONFIG is exported: a list works

k apply --server-side --force-conflicts -f "$ROOT/crds/" >/dev/null
k wait --for=condition=Established --timeout=60s crd/ironflowsecrets.ironflow.io crd/ironflowconfigs.ironflow.io >/dev/null
say "CRDs from crds/ applied"
# The config-value policy needs CEL's flatten(), which API servers before 1.35 refuse (docs/install.md,
# Supported Kubernetes versions): applied from 1.35 on, as the chart does.
minor=$(k version -o json | sed -n '/"serverVersion"/,/}/s/.*"minor": "\([0-9]*\).*/\1/p' | tail -n 1)
if [[ ${minor:-0} -ge 35 ]]; then
  k apply --server-side --force-conflicts -f "$ROOT/crds/kubernetes-1.35/" >/dev/null
  say "config-value admission policy from crds/kubernetes-1.35/ applied"
else
  say "Kubernetes 1.${minor:-?}: config-value admission policy left out (needs 1.35; the operator still refuses such values)"
fi
k get namespace "$OPERATOR_NAMESPACE" >/dev/null 2>&1 || k create namespace "$OPERATOR_NAMESPACE" >/dev/null

if [[ $LOCAL == 1 ]] && ! k -n "$OPERATOR_NAMESPACE" get secret "$KEY_SECRET" >/dev/null 2>&1; then
  keyfile=$(mktemp); trap 'rm -f "$keyfile"; rm -rf "$KUBECTL_CACHE"' EXIT
  chmod 600 "$keyfile"
  "$BIN/ironflow" keygen | tr -d '\n' >"$keyfile"
  k -n "$OPERATOR_NAMESPACE" create secret generic "$KEY_SECRET" \
    --from-file=IRONFLOW_MASTER_KEY="$keyfile" >/dev/null
  rm -f "$keyfile"
  say "created a DEVELOPMENT master key in Secret $OPERATOR_NAMESPACE/$KEY_SECRET (local control plane only;"
  say "  it lives in $CLUSTER_DIR and dies with it — never use it for anything real)"
fi

# --dev-mode: `make run` is for development; without a master key it accepts dev-form values (a
# deployed operator never does unless its chart sets devMode=true).
args=(--operator-namespace "$OPERATOR_NAMESPACE" --dev-mode)
if [[ $LOCAL == 1 && -z "${IRONFLOW_WEBHOOK_URL:-}" && -z "${IRONFLOW_WEBHOOK_CERT_DIR:-}" ]]; then
  args+=(--webhook-url "https://127.0.0.1:${IRONFLOW_WEBHOOK_PORT:-9443}" --webhook-cert-dir "$CLUSTER_DIR/webhook")
  # Mutual TLS: the local API server presents its webhook client certificate (ironflow_testbed/webhook_client.py).
  if [[ -f "$CLUSTER_DIR/webhook-client.kubeconfig" ]]; then
    args+=(--webhook-client-ca "$CLUSTER_DIR/pki/ca.crt" --webhook-client-name kube-apiserver-webhook-client)
  fi
fi
if [[ $LOCAL == 1 ]]; then
  args+=(--bind-address "${IRONFLOW_BIND_ADDRESS:-127.0.0.1}")
fi
rm -rf "$KUBECTL_CACHE"
say "starting ironflow-operator (Ctrl-C stops it; the control plane keeps running: make cluster-down)"
exec "$BIN/ironflow-operator" "${args[@]}" "$@"
