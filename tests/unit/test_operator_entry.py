"""`ironflow-operator` loads neither Kubernetes client library (controller/entry.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_PROBE = """
import json, sys
from ironflow.controller import entry
sys.argv = ["ironflow-operator", "--help"]
try:
    entry.main()
except SystemExit as exc:
    code = exc.code
import kopf, ironflow.controller.main, ironflow.webhook.runner
loaded = sorted(m for m, v in sys.modules.items() if v is not None
                and m.split(".")[0] in ("kubernetes", "kubernetes_asyncio", "pykube"))
print(json.dumps({"code": code, "loaded": loaded, "kopf": hasattr(kopf, "operator")}))
"""


def test_given_the_operator_entry_when_run_then_no_kubernetes_client_library_is_imported() -> None:
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120,
                          check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"code": 0, "loaded": [], "kopf": True}
    assert "Run the Ironflow operator" in done.stdout


def test_given_the_console_script_when_declared_then_it_is_the_blocking_entry() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["ironflow-operator"] == "ironflow.controller.entry:main"
    for build in ("Dockerfile", "hack/build-image.sh"):
        assert "from ironflow.controller.entry import main" in (ROOT / build).read_text()
