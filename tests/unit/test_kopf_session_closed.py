"""kopf's session closed while our middleware awaits a credential: a retry, never a crash.

kopf logs in again after a 401 and closes the session it had; a request of that session still
waiting in our middleware for the credential (an exec plugin re-running, say) then met aiohttp's
`assert self._connector is not None`, which kopf does not handle: the operator exited. kopf turns
a RuntimeError on a closed session into a retry with its new session, so that is what must come out.
"""

from __future__ import annotations

import asyncio

import pytest

from ironflow.k8s.async_client import Kube
from ironflow.k8s.credentials import CredentialSource, Identity
from ironflow.k8s.kubeconfig import Endpoint


class _SlowCredentials(CredentialSource):
    """The first call answers at once (the session is built with it); later ones wait for `go`."""

    def __init__(self, endpoint: Endpoint) -> None:
        super().__init__(endpoint)
        self.go = asyncio.Event()
        self.waiting = asyncio.Event()
        self.calls = 0

    async def current(self) -> Identity:
        self.calls += 1
        if self.calls > 1:
            self.waiting.set()
            await self.go.wait()
        return await super().current()


def test_given_kopf_closes_its_session_while_a_request_awaits_the_credential_then_runtime_error() -> None:
    async def scenario() -> BaseException:
        endpoint = Endpoint(server="https://127.0.0.1:9", token="t")  # never connected to
        credentials = _SlowCredentials(endpoint)
        kube = Kube(endpoint, credentials)
        session, _ = await kube.session_for_kopf()
        request = asyncio.create_task(session.get(endpoint.server + "/apis"))
        await asyncio.wait_for(credentials.waiting.wait(), timeout=5)
        await session.close()  # what kopf does with the old session after a re-login
        credentials.go.set()
        try:
            await asyncio.wait_for(request, timeout=5)
        except BaseException as exc:  # the type is the assertion
            return exc
        finally:
            await kube.close()
        pytest.fail("a request on a closed session went through")

    error = asyncio.run(scenario())
    assert type(error) is RuntimeError, repr(error)
    assert "closed" in str(error)
