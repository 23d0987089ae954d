"""Pure parts of the operator glue: queue semantics, namespace patterns, master-key reading, redaction."""

from __future__ import annotations

import asyncio
import base64
import logging
import types
from collections.abc import Hashable

from ironflow.controller.logs import REDACTED, RedactingFormatter, Redactor
from ironflow.controller.masterkey import key_state
from ironflow.controller.namespaces import is_static, matches
from ironflow.controller.publisher import desired_data
from ironflow.controller.work import AnchorKey, CrKey, SealingKeyKey
from ironflow.controller.workqueue import WorkQueue
from ironflow.core.keyring import generate_master_key


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_given_key_queued_twice_when_worked_then_runs_once_and_never_concurrently() -> None:
    async def scenario() -> list[Hashable]:
        queue = WorkQueue()
        seen: list[Hashable] = []
        running: set[Hashable] = set()
        second = asyncio.Event()

        async def handle(key: Hashable) -> None:
            assert key not in running
            running.add(key)
            seen.append(key)
            await asyncio.sleep(0)
            if len(seen) == 1:
                queue.add("a")  # re-queued while running: must run again afterwards, not in parallel
            running.discard(key)
            if len(seen) == 2:
                second.set()

        queue.add("a")
        queue.add("a")
        workers = [asyncio.create_task(queue.worker(handle)) for _ in range(3)]
        await asyncio.wait_for(second.wait(), timeout=5)
        for worker in workers:
            worker.cancel()
        return seen

    assert asyncio.run(scenario()) == ["a", "a"]


def test_given_repeated_failures_when_retried_then_backoff_grows_to_a_cap() -> None:
    async def scenario() -> list[float]:
        queue = WorkQueue(base_delay=1.0, max_delay=4.0)
        delays = []
        for _ in range(4):
            delays.append(queue.retry("k"))
            queue.add("k")  # an explicit add cancels the pending timer
        return delays

    assert asyncio.run(scenario()) == [1.0, 2.0, 4.0, 4.0]


def test_given_namespace_patterns_when_matched_then_kopf_semantics() -> None:
    assert matches((), "anything")
    assert matches(("prod-*", "!prod-legacy"), "prod-eu")
    assert not matches(("prod-*", "!prod-legacy"), "prod-legacy")
    assert matches(("!kube-*",), "default") and not matches(("!kube-*",), "kube-system")
    assert is_static(("a", "b")) and not is_static(("a*",)) and not is_static(())


def test_given_master_key_secret_states_when_read_then_dev_keyed_or_invalid() -> None:
    assert key_state(None).mode == "no-key"
    assert key_state({"data": {"IRONFLOW_MASTER_KEY": ""}}).mode == "no-key"
    assert key_state(None, dev_mode=True).mode == "dev"
    assert key_state({"data": {"IRONFLOW_MASTER_KEY": ""}}, dev_mode=True).mode == "dev"
    keyed = key_state({"data": {"IRONFLOW_MASTER_KEY": _b64(generate_master_key())}})
    assert keyed.mode == "keyed" and keyed.kid
    broken = key_state({"data": {"IRONFLOW_MASTER_KEY": _b64("s3cr3t-but-short")}})
    assert broken.mode == "invalid-key" and "s3cr3t" not in (broken.problem or "")
    assert key_state({"data": {"IRONFLOW_MASTER_KEY": "%%%"}}).mode == "invalid-key"


def test_given_key_states_when_published_then_public_key_only_when_keyed() -> None:
    keyed = key_state({"data": {"IRONFLOW_MASTER_KEY": _b64(generate_master_key())}})
    published = desired_data(keyed, "prod")
    assert {"publicKey", "signature", "signerKey"} <= set(published) and published["namespace"] == "prod"
    algorithm = "X25519-HKDF-SHA256-AES256GCM/v1"
    assert desired_data(key_state(None), "prod") == {"algorithm": algorithm, "mode": "no-key"}
    assert desired_data(key_state(None, dev_mode=True), "prod") == {"algorithm": algorithm, "mode": "dev"}
    assert "publicKey" not in desired_data(key_state({"data": {"IRONFLOW_MASTER_KEY": _b64("x")}}), "prod")


def test_given_remembered_value_when_logged_by_mistake_then_redacted_in_every_form() -> None:
    redactor = Redactor()
    redactor.remember(b"hunter2-canary")
    line = f"oops hunter2-canary and {_b64('hunter2-canary')}"
    assert redactor.redact(line) == f"oops {REDACTED} and {REDACTED}"
    redactor.remember(b"abc")  # too short to redact without mangling every log line
    assert redactor.redact("abc") == "abc"


def test_given_formatter_when_record_holds_value_then_output_redacted() -> None:
    from ironflow.controller.logs import REDACTOR

    REDACTOR.remember(b"formatter-canary-value")
    formatter = RedactingFormatter(logging.Formatter("%(message)s"))
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "value=%s", ("formatter-canary-value",), None)
    assert formatter.format(record) == f"value={REDACTED}"


def test_given_no_cluster_named_when_operator_starts_then_refuses_with_exit_code_2() -> None:
    from click.testing import CliRunner

    from ironflow.controller.main import main

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        result = CliRunner().invoke(main, [], env={"KUBECONFIG": "", "KUBERNETES_SERVICE_HOST": "10.0.0.1",
                                                   "KUBERNETES_SERVICE_PORT": "443"})
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    assert result.exit_code == 2
    assert "no cluster named" in result.output


def test_given_namespace_flags_and_variable_when_split_then_deduplicated_list() -> None:
    from ironflow.controller.main import _split

    assert _split(("a,b", "c d", "a")) == ("a", "b", "c", "d")


def test_given_operator_settings_when_configured_then_kopf_state_stays_in_memory_and_quiet() -> None:
    import kopf

    from ironflow.controller.settings import configure
    from ironflow.controller.state import Options
    from ironflow.controller.storage import MemoryDiffBaseStorage, MemoryProgressStorage
    from ironflow.k8s.config import ClusterChoice

    settings = kopf.OperatorSettings()
    options = Options(ClusterChoice("k", None, False), (), "ironflow-system", "ironflow-master-key", 0, 0,
                      "127.0.0.1", 1)
    configure(settings, options)
    assert isinstance(settings.persistence.progress_storage, MemoryProgressStorage)
    assert isinstance(settings.persistence.diffbase_storage, MemoryDiffBaseStorage)
    assert settings.posting.enabled is False and settings.peering.standalone is True
    assert settings.queueing.idle_timeout <= 1.0  # per-object workers (and their bodies) do not linger
    body = kopf.Body({"metadata": {"uid": "u1", "annotations": {}}, "data": {"K": "dmFsdWU="}})
    patch = kopf.Patch()
    settings.persistence.diffbase_storage.store(body=body, patch=patch, essence={"data": {"K": "x"}})
    assert settings.persistence.diffbase_storage.fetch(body=body) == {"data": {"K": "x"}}
    assert not patch  # nothing would be written to the object


def test_given_parked_recheck_when_depth_read_then_not_counted_but_retries_are() -> None:
    async def scenario() -> tuple[int, int, int, int]:
        queue = WorkQueue()
        queue.park(("cr", "blocked"), 30.0)
        parked = queue.depth
        queue.add_after(("cr", "retrying"), 30.0)
        with_retry = queue.depth
        queue.add(("cr", "blocked"))  # a change of the blocked resource is work again
        woken = queue.depth
        queue.park(("cr", "retrying"), 30.0)  # a pending retry stays a retry
        return parked, with_retry, woken, queue.depth

    assert asyncio.run(scenario()) == (0, 1, 2, 2)


def test_given_master_key_change_when_applied_then_sealing_keys_queued_before_every_resource() -> None:
    from ironflow.controller import masterkey
    from ironflow.controller.state import Options, Runtime
    from ironflow.k8s.config import ClusterChoice

    async def scenario() -> list[Hashable]:
        options = Options(cluster=ClusterChoice(kubeconfig=None, context=None, in_cluster=False),
                          namespaces=(), operator_namespace="ops", master_key_secret="key", metrics_port=0,
                          health_port=0, bind_address="127.0.0.1", workers=1)
        kube = types.SimpleNamespace(write_guard=None)  # no request is sent: only the queue is read
        runtime = Runtime(options=options, kube=kube)  # type: ignore[arg-type]
        runtime.served_namespaces.update({"a", "b"})
        for i in range(3):
            body = {"metadata": {"namespace": "a", "name": f"r{i}", "uid": f"u{i}"}}
            runtime.cache.put("IronflowSecret", body)
        masterkey.apply(runtime, key_state({"data": {"IRONFLOW_MASTER_KEY": _b64(generate_master_key())}}))
        runtime.queue = WorkQueue()  # only what the change queues
        masterkey.apply(runtime, key_state({"data": {"IRONFLOW_MASTER_KEY": _b64(generate_master_key())}}))
        order: list[Hashable] = []
        while not runtime.queue._queue.empty():
            order.append(runtime.queue._queue.get_nowait())
        return order

    order = asyncio.run(scenario())
    assert order[:3] == [SealingKeyKey("a"), SealingKeyKey("b"), AnchorKey()]
    assert sorted(order[3:]) == [CrKey("IronflowSecret", "a", f"r{i}") for i in range(3)]
