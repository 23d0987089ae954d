"""The `ironflow-operator` console script: block kopf's optional client imports, then run main.

Why: kopf imports `kubernetes` and `kubernetes_asyncio` (and pykube) merely because they are
installed (`kopf/_cogs/helpers/thirdparty.py`), and those load every generated model: about 60 MB
of RSS per operator replica that the operator never uses (its own client is raw JSON on aiohttp,
k8s/async_client.py). A `None` entry in `sys.modules` makes each such import raise ImportError,
which kopf treats as "not installed". This must run before anything imports kopf, so this module
imports nothing of the operator at module level.
"""

from __future__ import annotations

import sys

BLOCKED = ("kubernetes", "kubernetes_asyncio", "pykube")


def block_client_libraries() -> None:
    for name in BLOCKED:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def main() -> None:
    block_client_libraries()
    from ironflow.controller.main import main as operator_main

    operator_main()


if __name__ == "__main__":
    main()
