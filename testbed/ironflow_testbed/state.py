"""What `envtest up` leaves behind in the cluster directory so `down` and `status` can find it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ironflow_testbed.components import Ports
from ironflow_testbed.processes import ProcessRecord


@dataclass(frozen=True)
class ClusterState:
    bin_dir: str
    server: str
    ports: Ports
    processes: tuple[ProcessRecord, ...]
    timings: dict[str, float]

    def save(self, path: Path) -> None:
        data: dict[str, Any] = asdict(self)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> ClusterState | None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        return cls(
            bin_dir=str(data["bin_dir"]),
            server=str(data["server"]),
            ports=Ports(**data["ports"]),
            processes=tuple(ProcessRecord(**record) for record in data["processes"]),
            timings={str(k): float(v) for k, v in data.get("timings", {}).items()},
        )
