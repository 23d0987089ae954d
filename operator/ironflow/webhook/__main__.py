"""`python -m ironflow.webhook`: the pod webhook alone, for debugging admission without the operator.

The operator (`ironflow-operator`) runs the same server in-process; this entry point exists so a
developer can watch admission decisions in isolation. Cluster selection follows the safety rule.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path

from ironflow.k8s.async_client import Kube
from ironflow.k8s.config import choose_cluster
from ironflow.webhook.runner import start_webhook
from ironflow.webhook.server import WebhookOptions


async def _serve(args: argparse.Namespace) -> None:
    kube = await Kube.connect(choose_cluster(args.kubeconfig, in_cluster=args.in_cluster))
    options = WebhookOptions(host=args.host, port=args.port, cert_dir=Path(args.cert_dir), url=args.url)
    running = await start_webhook(options, kube, args.operator_namespace)
    try:
        await asyncio.Event().wait()
    finally:
        await running.stop()
        await kube.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--in-cluster", action="store_true")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9443)
    parser.add_argument("--cert-dir", required=True)
    parser.add_argument("--url")
    parser.add_argument("--operator-namespace", default="ironflow-system")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
