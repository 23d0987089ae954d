"""The API server's audit log: what exactly reached the server, for tests to inspect.

Tests use it to prove negative facts ("the canary value was never written anywhere but the
Secret") and to see who did what ("the operator, not the test, created the ConfigMap"). The
policy records full request and response bodies for everything except the control plane's own
lease renewals (kube-system, kube-node-lease) and health probes, which are pure noise; Events are
kept (request bodies) because they are one of the places a secret must never leak to. Leases
elsewhere (the operator's leader election) are kept at Metadata level: who wrote which Lease, and
when, is what the high-availability tests count.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import client

from ironflow.core import bounded_json

POLICY = """\
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: None
    namespaces: ["kube-system", "kube-node-lease"]
    resources:
      - group: coordination.k8s.io
        resources: ["leases"]
  - level: Metadata
    resources:
      - group: coordination.k8s.io
        resources: ["leases"]
  - level: None
    nonResourceURLs: ["/healthz*", "/readyz*", "/livez*", "/metrics", "/version", "/openapi/*"]
  - level: Request
    resources:
      - group: ""
        resources: ["events"]
      - group: events.k8s.io
        resources: ["events"]
  - level: RequestResponse
"""


@dataclass(frozen=True)
class AuditEvent:
    """One audit record; `raw` is the full JSON object for anything the properties do not cover."""

    raw: dict[str, Any]

    @property
    def verb(self) -> str:
        return str(self.raw.get("verb", ""))

    @property
    def stage(self) -> str:
        return str(self.raw.get("stage", ""))

    @property
    def user(self) -> str:
        return str(self.raw.get("user", {}).get("username", ""))

    @property
    def groups(self) -> list[str]:
        return list(self.raw.get("user", {}).get("groups", []))

    @property
    def _ref(self) -> dict[str, Any]:
        ref = self.raw.get("objectRef")
        return ref if isinstance(ref, dict) else {}

    @property
    def resource(self) -> str:
        return str(self._ref.get("resource", ""))

    @property
    def subresource(self) -> str:
        return str(self._ref.get("subresource", ""))

    @property
    def api_group(self) -> str:
        return str(self._ref.get("apiGroup", ""))

    @property
    def namespace(self) -> str:
        return str(self._ref.get("namespace", ""))

    @property
    def name(self) -> str:
        return str(self._ref.get("name", ""))

    @property
    def status_code(self) -> int:
        return int(self.raw.get("responseStatus", {}).get("code", 0))

    @property
    def request_object(self) -> dict[str, Any] | None:
        obj = self.raw.get("requestObject")
        return obj if isinstance(obj, dict) else None

    @property
    def response_object(self) -> dict[str, Any] | None:
        obj = self.raw.get("responseObject")
        return obj if isinstance(obj, dict) else None

    def contains(self, text: str) -> bool:
        """Whether `text` appears anywhere in the record (bodies included), e.g. a canary value."""
        return text in json.dumps(self.raw)


def parse_lines(lines: Iterator[str] | list[str]) -> list[AuditEvent]:
    """Parse JSON lines, skipping a torn last line the server is still writing.

    Decoded without recursion: a request body nested thousands of levels deep (a test of hostile
    bodies writes one) must not break every later reader of the shared audit log. What lies past
    bounded_json's depth bound is cut off, so a scan for a text does not see into it."""
    events = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            events.append(AuditEvent(bounded_json.loads(line)))
        except ValueError:
            continue
    return events


def matches(
    event: AuditEvent,
    *,
    verb: str | None = None,
    resource: str | None = None,
    user: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
    stage: str | None = "ResponseComplete",
) -> bool:
    wanted = {
        "verb": verb,
        "resource": resource,
        "user": user,
        "namespace": namespace,
        "name": name,
        "subresource": subresource,
        "stage": stage,
    }
    return all(value is None or getattr(event, key) == value for key, value in wanted.items())


class AuditLog:
    """Reads `<cluster dir>/audit.log` incrementally: each call parses only what was appended since.

    A whole test session writes tens of megabytes; re-parsing all of it on every poll of
    `wait_for` would make waiting slower the longer the session runs.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._inode = -1
        self._offset = 0
        self._events: list[AuditEvent] = []

    def _refresh(self) -> list[AuditEvent]:
        try:
            with self.path.open("rb") as handle:
                inode, size = os.fstat(handle.fileno()).st_ino, os.fstat(handle.fileno()).st_size
                if inode != self._inode or size < self._offset:  # a new or truncated file
                    self._inode, self._offset, self._events = inode, 0, []
                handle.seek(self._offset)
                chunk = handle.read()
        except FileNotFoundError:
            return []
        complete = chunk.rfind(b"\n") + 1  # a line the server is still writing waits for the next call
        self._events.extend(parse_lines(chunk[:complete].decode("utf-8", errors="replace").splitlines()))
        self._offset += complete
        return self._events

    def events(self, **filters: str | None) -> list[AuditEvent]:
        """Completed requests matching all given filters (verb, resource, user, namespace, name...)."""
        return [event for event in self._refresh() if matches(event, **filters)]

    def wait_for(
        self,
        predicate: Callable[[AuditEvent], bool] = lambda _: True,
        timeout: float = 10.0,
        **filters: str | None,
    ) -> AuditEvent:
        """The first matching record, waiting for the server to flush it."""
        deadline = time.monotonic() + timeout
        while True:
            found = [event for event in self.events(**filters) if predicate(event)]
            if found:
                return found[0]
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no audit record matching {filters} within {timeout}s in {self.path}")
            time.sleep(0.1)

    def flush(self, api: client.ApiClient, namespace: str, timeout: float = 30.0) -> None:
        """Wait until the requests made before this call are in the log: records are written as
        requests complete, so the record of one more request (a marker GET) proves they are in."""
        marker = f"audit-flush-{uuid.uuid4().hex[:8]}"
        try:
            client.CoreV1Api(api).read_namespaced_config_map(marker, namespace)
        except client.ApiException as error:
            if error.status != 404:
                raise
        self.wait_for(name=marker, timeout=timeout)
