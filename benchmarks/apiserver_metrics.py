"""The webhook's latency as the API server records it, from its own `/metrics`.

Issue 14 judges admission by `apiserver_admission_webhook_admission_duration_seconds`, the API
server's histogram of each webhook call. The p99 is estimated from the cumulative buckets the way
Prometheus' `histogram_quantile` does (linear within the bucket that holds the rank), over the
difference of two scrapes, so only the calls of the measured phase count. The histogram's bucket
bounds (5 ms, 25 ms, 100 ms, ...) make it coarse: "under 10 ms" can be read as "the rank falls in
the first bucket" with an interpolated figure. (Branch `admission` adds a helper for this to
admission_phase.py; this module stands alone so the benchmark does not wait for that merge.)
"""

from __future__ import annotations

import math
import re
from collections import Counter

from kubernetes import client

METRIC = "apiserver_admission_webhook_admission_duration_seconds_bucket"
_LINE = re.compile(r"^(?P<name>[a-z_]+)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)")
_LE = re.compile(r'le="([^"]+)"')


def buckets(text: str, metric: str = METRIC) -> Counter[float]:
    """Cumulative counts by upper bound, summed over every label set of `metric` (all webhooks)."""
    found: Counter[float] = Counter()
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match or match["name"] != metric:
            continue
        le = _LE.search(match["labels"])
        if le:
            found[math.inf if le[1] == "+Inf" else float(le[1])] += int(float(match["value"]))
    return found


def quantile(q: float, cumulative: Counter[float]) -> float | None:
    """histogram_quantile(q): None without observations; the last finite bound if beyond it."""
    bounds = sorted(cumulative)
    if not bounds or cumulative[bounds[-1]] <= 0:
        return None
    rank = q * cumulative[bounds[-1]]
    lower, below = 0.0, 0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            if count == below:
                return bound
            return lower + (bound - lower) * (rank - below) / (count - below)
        lower, below = bound, count
    return lower


def scrape(api: client.ApiClient) -> str:
    """The embedded API server's /metrics, with the benchmark's admin credentials."""
    headers = {"Accept": "text/plain"}
    token = api.configuration.api_key.get("authorization")  # a token kubeconfig; certificates need none
    if token:
        headers["Authorization"] = token
    response = api.call_api("GET", f"{api.configuration.host}/metrics", header_params=headers)
    if response.status != 200:
        raise RuntimeError(f"GET /metrics answered {response.status}")
    data: bytes = response.read()
    return data.decode()
