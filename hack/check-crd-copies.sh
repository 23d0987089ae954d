#!/usr/bin/env bash
# crds/ is the one source of truth; charts/ironflow/crds/ and manifests/crds/ must be identical
# copies, and manifests/ must be what `helm template` renders from the chart's defaults.
# crds/kubernetes-1.35/ is not copied: the chart carries it as a template (rendered on 1.35 or
# newer only) and manifests/ leaves it out (`kubectl apply -f manifests/ -R` must install anywhere).
# Exit 1 with a diff and the fix (`make crds`) when anything drifted.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}

status=0
for copy in charts/ironflow/crds manifests/crds; do
  if ! diff -ru --exclude=kubernetes-1.35 crds "$copy" >&2; then
    echo "error: $copy differs from crds/ (the source of truth): run \`make crds\`" >&2
    status=1
  fi
done

# The chart's webhook template and manifests/ are derived with helm (hack/gen-manifests.py).
if ! "$PYTHON" hack/gen-manifests.py --check; then
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "crds/ copies, chart webhook template and manifests/ are up to date"
fi
exit "$status"
