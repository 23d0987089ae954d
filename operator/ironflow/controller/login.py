"""kopf logs in with exactly the credentials the user named (never kopf's own fallbacks, which
would read ~/.kube/config or the in-cluster token on their own).

kopf is handed a ready aiohttp session (`kopf.AiohttpSession`, its hook for custom sessions)
rather than a `ConnectionInfo`, because a ConnectionInfo has no field for `tls-server-name` and
kopf would build its own SSL context without it. Our session carries everything the kubeconfig
names (CA, tls-server-name, proxy-url, the client certificate) and takes each request's token from
the same cache as our own client (k8s/credentials.py): an exec credential or a token file is
refreshed for kopf's requests too, without a new login. kopf logs in again when a request is
answered 401 (the middleware has then invalidated the credential, so the login brings a fresh
one) and, for a client certificate from an exec plugin, when it is due for renewal.

A login that brings the very credential that was just refused returns kopf the same session info
it already marked invalid: kopf then stops with its "ran out of valid credentials" error, as it
does with a ConnectionInfo, instead of sending the refused credential again and again.
"""

from __future__ import annotations

import datetime
from typing import Any

import kopf

from ironflow.controller.state import runtime_of

LOGIN_RETRY_SECONDS = 5.0  # kopf's default, 60 s, would stall every watch that long after a failed plugin run


@kopf.on.login(backoff=LOGIN_RETRY_SECONDS)
async def login(memo: Any, **_: Any) -> kopf.AiohttpSession:
    runtime = runtime_of(memo)
    kube, last = runtime.kube, runtime.kopf_login
    identity = await kube.credentials.current()
    material = (identity.token, identity.certificate, identity.key)
    renews = identity.certificate is not None and identity.refresh_at is not None  # kopf's info expires
    if last.get("material") == material and last.get("kube") is kube and not renews:
        info: kopf.AiohttpSession = last["info"]
        return info
    session, renew_at = await kube.session_for_kopf()
    expiration = datetime.datetime.fromtimestamp(renew_at, datetime.UTC) if renew_at is not None else None
    info = kopf.AiohttpSession(server=kube.endpoint.server, aiohttp_session=session, expiration=expiration)
    last.update(material=material, kube=kube, info=info)
    return info
