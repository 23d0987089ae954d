"""The SSL context our own API client uses, built from an Endpoint (k8s/kubeconfig.py).

The CA is loaded from memory. A client certificate and key given as data must pass through files,
because `ssl.SSLContext.load_cert_chain` reads only files: they are written into a private
directory (0700, files 0600) that is removed as soon as the context holds them, so no key stays
on disk for the life of the process.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ironflow.k8s.kubeconfig import Endpoint


@contextmanager
def private_files(**contents: bytes) -> Iterator[dict[str, str]]:
    """Each named content in its own 0600 file inside a fresh 0700 directory, removed on exit."""
    directory = Path(tempfile.mkdtemp(prefix="ironflow-tls-"))  # mkdtemp: mode 0700
    try:
        paths: dict[str, str] = {}
        for name, data in contents.items():
            path = directory / name
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            paths[name] = str(path)
        yield paths
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def ssl_context(endpoint: Endpoint) -> ssl.SSLContext:
    context = ssl.create_default_context(
        cafile=endpoint.ca_path,
        cadata=endpoint.ca_data.decode("ascii") if endpoint.ca_data is not None else None,
    )
    if endpoint.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert, key = endpoint.certificate_data, endpoint.private_key_data
    if (endpoint.certificate_path or cert) and (endpoint.private_key_path or key):
        with private_files(**({"client.crt": cert} if cert else {}),
                           **({"client.key": key} if key else {})) as files:
            context.load_cert_chain(certfile=endpoint.certificate_path or files["client.crt"],
                                    keyfile=endpoint.private_key_path or files["client.key"])
    return context
