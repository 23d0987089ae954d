"""The SSL context of every connection the operator opens to the API server (ours and kopf's).

The CA is loaded from memory. A client certificate and key given as data must pass through files,
because `ssl.SSLContext.load_cert_chain` reads only files: they are written into a private
directory (0700, files 0600) that is removed as soon as the context holds them, so no key stays
on disk for the life of the process.

`tls-server-name` lives in the context itself: a connection to the API server's host presents
and verifies that name instead (SNI and certificate check, as kubectl does). Putting it in the
context rather than in each request is what lets it reach kopf's connections, whose requests we
do not make, and connections tunnelled through a proxy; a TLS connection to any other host (an
https proxy) keeps its own name.
"""

from __future__ import annotations

import os
import shutil
import ssl
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ironflow.k8s.credentials import Identity
from ironflow.k8s.kubeconfig import Endpoint, KubeconfigError


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


class ServerNameContext(ssl.SSLContext):
    """Connections to `api_host` present and verify `server_name` (kubeconfig `tls-server-name`).

    asyncio (and so aiohttp, and kopf through it) opens every TLS connection with `wrap_bio`,
    handing it the host of the URL; that is the one place the name can be swapped for all of them.
    """

    api_host: str = ""
    server_name: str = ""

    def wrap_bio(self, incoming: ssl.MemoryBIO, outgoing: ssl.MemoryBIO, server_side: bool = False,
                 server_hostname: str | bytes | None = None, session: ssl.SSLSession | None = None) -> Any:
        if server_hostname == self.api_host:
            server_hostname = self.server_name
        return super().wrap_bio(incoming, outgoing, server_side, server_hostname, session)


def ssl_context(endpoint: Endpoint, identity: Identity | None = None) -> ssl.SSLContext:
    """The endpoint's CA and checks; the client certificate of `identity` (an exec plugin's) if it
    has one, else the kubeconfig's."""
    context: ssl.SSLContext
    if endpoint.tls_server_name:
        named = ServerNameContext(ssl.PROTOCOL_TLS_CLIENT)
        named.api_host = urlsplit(endpoint.server).hostname or ""
        named.server_name = endpoint.tls_server_name
        context = named
    else:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies certificate and host name
    if endpoint.ca_path or endpoint.ca_data:
        context.load_verify_locations(
            cafile=endpoint.ca_path,
            cadata=endpoint.ca_data.decode("ascii") if endpoint.ca_data is not None else None)
    else:
        context.load_default_certs()
    if endpoint.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    cert: bytes | None
    key: bytes | None
    if identity is not None and identity.certificate and identity.key:
        cert_path, key_path = None, None
        cert, key = identity.certificate, identity.key
    else:
        cert_path, key_path = endpoint.certificate_path, endpoint.private_key_path
        cert, key = endpoint.certificate_data, endpoint.private_key_data
    if (cert_path or cert) and (key_path or key):
        origin = "the exec plugin's" if identity is not None and identity.certificate else "the kubeconfig's"
        with private_files(**({"client.crt": cert} if cert else {}),
                           **({"client.key": key} if key else {})) as files:
            try:
                context.load_cert_chain(certfile=cert_path or files["client.crt"],
                                        keyfile=key_path or files["client.key"])
            except (ssl.SSLError, OSError) as exc:
                raise KubeconfigError(f"{origin} client certificate and key cannot be used: "
                                      f"{exc.strerror or type(exc).__name__}") from None
    return context
