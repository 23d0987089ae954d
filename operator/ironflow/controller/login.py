"""kopf logs in with exactly the credentials the user named (never kopf's own fallbacks, which
would read ~/.kube/config or the in-cluster token on their own)."""

from __future__ import annotations

from typing import Any

import kopf

from ironflow.controller import state
from ironflow.k8s.async_client import credentials


@kopf.on.login()
async def login(**_: Any) -> kopf.ConnectionInfo:
    creds = await credentials(state.current().options.cluster)
    return kopf.ConnectionInfo(
        server=creds.server,
        ca_path=creds.ca_path,
        ca_data=creds.ca_data,
        insecure=creds.insecure,
        token=creds.token,
        username=creds.username,
        password=creds.password,
        certificate_path=creds.certificate_path,
        certificate_data=creds.certificate_data,
        private_key_path=creds.private_key_path,
        private_key_data=creds.private_key_data,
    )
