"""Which operator signing key this user trusts, per cluster, and the `ironflow trust` commands.

The published sealing key verifies only against its own signer (core/key_publication.py); this
module decides whether that signer is the operator's. In order:

1. `--expect-signer ID` / IRONFLOW_EXPECT_SIGNER: exactly that signer (CI pins explicitly);
2. the signer pinned for this cluster (its API server URL) in the user's known-signers file;
3. on first use, the anchor ConfigMap `ironflow-signing-key` in the operator's namespace, where
   tenants cannot write (the chart lets every authenticated user read it); it is then pinned.

A signer other than the trusted one is followed only along the signer chain published with it:
each signer endorsed by the one before, verified link by link from the trusted signer to the
publication's (core/signer_chain.py; rotations the operator made, however many and however long
ago). The change is printed and the pin moves; a damaged chain, or one that does not pass through
the trusted signer, is refused with one line saying what to do. Never a silent change, never
trust taken from a tenant-writable ConfigMap.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import click

from ironflow.cli.errors import UserError
from ironflow.cli.output import emit, warn
from ironflow.cli.session import Session, pass_session, shared_options
from ironflow.core.key_publication import (
    CM_MODE,
    CM_SIGNER_CHAIN,
    CM_SIGNER_ID,
    CM_SIGNER_KEY,
    SIGNING_KEY_CONFIGMAP,
    VerifiedKey,
)
from ironflow.core.signer_chain import BrokenChain, follow
from ironflow.core.signing import SIGNER_ID_BYTES, SIGNER_KEY_BYTES, signer_id, unb64
from ironflow.k8s.sync_errors import ApiError

EXPECT_ENV: Final = "IRONFLOW_EXPECT_SIGNER"
OPERATOR_NAMESPACE_ENV: Final = "IRONFLOW_OPERATOR_NAMESPACE"
DEFAULT_OPERATOR_NAMESPACE: Final = "ironflow-system"
KNOWN_SIGNERS: Final = "known-signers.json"


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "ironflow"


@dataclass(frozen=True)
class PinStore:
    """{server URL: signer id}, written atomically (several CLIs may run at once)."""

    path: Path

    @classmethod
    def default(cls) -> PinStore:
        return cls(config_dir() / KNOWN_SIGNERS)

    def _load(self) -> dict[str, Any]:
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise UserError(f"cannot read {self.path} ({exc}): fix or remove it, then pin again") from None
        return doc if isinstance(doc, dict) else {}

    def get(self, server: str) -> str | None:
        entry = self._load().get(server)
        value = entry.get("signerId") if isinstance(entry, dict) else None
        return value if isinstance(value, str) else None

    def put(self, server: str, signer: str) -> None:
        doc = self._load()
        doc[server] = {"signerId": signer}
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(prefix=".known-signers.", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(doc, out, indent=2, sort_keys=True)
            out.write("\n")
        os.replace(tmp, self.path)


def check_signer_id(text: str) -> str:
    value = text.strip().lower()
    if len(value) != 2 * SIGNER_ID_BYTES or any(c not in "0123456789abcdef" for c in value):
        raise UserError(
            f"a signer id is {2 * SIGNER_ID_BYTES} hex characters (ironflow trust show prints it)"
        )
    return value


def _path(key: VerifiedKey, source: str, trusted: str) -> tuple[str, ...]:
    """The signer ids from `trusted` to the key's signer along its chain; () when none leads there."""
    try:
        return follow(key.chain, trusted, key.signer)
    except BrokenChain as exc:
        raise UserError(
            f"{source} is signed by {key.signer_id}, not by the signer you trust ({trusted}), and its "
            f"signer chain is broken ({exc}): do not seal; ask your cluster admin"
        ) from None


def _rotations(path: tuple[str, ...]) -> str:
    steps = len(path) - 1
    return f"{steps} rotation{'s' if steps != 1 else ''}, each endorsed by the signer before it"


def operator_namespace() -> str:
    return os.environ.get(OPERATOR_NAMESPACE_ENV) or DEFAULT_OPERATOR_NAMESPACE


@dataclass(frozen=True)
class Anchor:
    """What the operator's namespace publishes: the signer (None and why when unusable) and its chain."""

    id: str | None
    where: str
    key: bytes = b""
    chain: str = ""


def read_anchor(session: Session) -> Anchor:
    """The anchor ConfigMap in the operator's namespace, read and checked."""
    namespace = operator_namespace()
    where = f"ConfigMap {SIGNING_KEY_CONFIGMAP} in {namespace}"
    try:
        configmap = session.api().get_configmap(namespace, SIGNING_KEY_CONFIGMAP)
    except ApiError as exc:
        return Anchor(None, f"{where} cannot be read ({exc.message})")
    data = (configmap or {}).get("data") or {}
    if configmap is None or data.get(CM_MODE) != "keyed" or not data.get(CM_SIGNER_KEY):
        return Anchor(None, f"{where} does not exist or names no signer")
    try:
        key = unb64(data[CM_SIGNER_KEY], SIGNER_KEY_BYTES, CM_SIGNER_KEY)
    except ValueError:
        return Anchor(None, f"{where} is damaged")
    announced = data.get(CM_SIGNER_ID)
    if announced and announced != signer_id(key):
        return Anchor(None, f"{where} is damaged (signer id does not match its key)")
    return Anchor(signer_id(key), where, key, str(data.get(CM_SIGNER_CHAIN) or ""))


def _link_note(pinned: str | None, anchor: Anchor) -> str:
    """Whether the pin leads to the published signer: what `trust show` tells before anyone seals."""
    if pinned is None or anchor.id is None:
        return "-"
    if pinned == anchor.id:
        return "the pinned signer is the published one"
    try:
        path = follow(anchor.chain, pinned, anchor.key)
    except BrokenChain as exc:
        return f"the published signer chain is broken ({exc}): ask your cluster admin"
    if path:
        return f"the pin follows the signer chain to the published signer ({_rotations(path)})"
    return (
        "nothing links the pin to the published signer: confirm the published id with your cluster "
        "admin, then `ironflow trust pin ID`"
    )


def require_trusted(session: Session, key: VerifiedKey, source: str, expect: str | None) -> None:
    """Raise UserError unless `key.signer` is (or is endorsed by) the signer this user trusts."""
    if expect:
        expected = check_signer_id(expect)
        if key.signer_id == expected:
            return
        path = _path(key, source, expected)
        if path:
            warn(
                f"{source} is signed by {key.signer_id}, reached from the expected signer {expected} "
                f"({_rotations(path)}): set --expect-signer/{EXPECT_ENV} to {key.signer_id}"
            )
            return
        raise UserError(
            f"{source} is signed by {key.signer_id}, not by the expected signer {expected}, and "
            "nothing links them: do not seal; check the signer id with your cluster admin"
        )
    store, server = PinStore.default(), session.api().client.server
    pinned = store.get(server)
    if pinned is None:
        found = read_anchor(session)
        anchor, where = found.id, found.where
        if anchor is None:
            raise UserError(
                f"cannot authenticate {source}: no operator signing key is pinned for {server} and "
                f"{where}; ask your cluster admin for the signer id, then `ironflow trust pin ID` "
                f"(or pass --expect-signer ID)"
            )
        if anchor != key.signer_id:
            raise UserError(
                f"{source} is signed by {key.signer_id}, not by the operator's signing key "
                f"{anchor} ({where}): do not seal; ask your cluster admin"
            )
        store.put(server, anchor)
        warn(f"trusting the operator signing key {anchor} from {where} for {server} (pinned in {store.path})")
        return
    if key.signer_id == pinned:
        return
    path = _path(key, source, pinned)
    if path:
        store.put(server, key.signer_id)
        warn(
            f"the operator's signing key changed from {pinned} to {key.signer_id} ({_rotations(path)}, "
            f"starting from the one you pinned); now pinned in {store.path}"
        )
        return
    raise UserError(
        f"{source} is signed by {key.signer_id}, not by the operator signing key pinned for {server} "
        f"({pinned}, in {store.path}), and nothing links them: do not seal; if your admin replaced "
        f"the master key, confirm {key.signer_id} with them, then `ironflow trust pin {key.signer_id}`"
    )


@click.group("trust")
def trust_group() -> None:
    """The operator signing key this CLI trusts before sealing (docs/crypto.md, "Trust")."""


@trust_group.command("show")
@shared_options
@pass_session
def trust_show(session: Session) -> None:
    """The signer id pinned for this cluster, the one the operator's namespace publishes, and
    whether the signer chain leads from the first to the second."""
    store = PinStore.default()
    server = session.api().client.server
    anchor = read_anchor(session)
    pinned = store.get(server)
    note = _link_note(pinned, anchor)
    result = {
        "server": server, "pinned": pinned, "published": anchor.id, "file": str(store.path), "link": note
    }
    emit(
        session.output,
        result,
        lambda: "\n".join(
            [
                f"cluster {server}",
                f"pinned:    {pinned or '-'} ({store.path})",
                f"published: {anchor.id or '-'} ({anchor.where})",
                f"link:      {note}",
            ]
        ),
    )


@trust_group.command("pin")
@click.argument("signer")
@shared_options
@pass_session
def trust_pin(session: Session, signer: str) -> None:
    """Trust SIGNER (a signer id from your cluster admin) for this cluster from now on."""
    value = check_signer_id(signer)
    store = PinStore.default()
    server = session.api().client.server
    previous = store.get(server)
    store.put(server, value)
    emit(
        session.output,
        {"server": server, "pinned": value, "previous": previous},
        lambda: (
            f"pinned operator signing key {value} for {server}" + (f" (was {previous})" if previous else "")
        ),
    )
