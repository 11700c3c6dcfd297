"""Worker plugins and probes the dask engine's tests send to real worker processes.

Kept apart from the test module, with light imports only: a worker unpickling them imports
this module, and a test module importing geopandas, rasterio and pytest would by itself take
a good part of a small worker's memory limit.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

from distributed.diagnostics.plugin import WorkerPlugin


def worker_peak_rss() -> int:
    """The worker process's peak resident memory, bytes (VmHWM: its own, not inherited through fork)."""
    for line in Path("/proc/self/status").read_text(encoding="utf-8").splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


def worker_resting_rss() -> int:
    """The worker's peak memory once it has imported what a catchment task needs, bytes."""
    import gisapp.metrics.dask_engine  # noqa: F401 - what the tasks import

    return worker_peak_rss()


class KillOnce(WorkerPlugin):
    """Kills the worker process the first time it starts a catchment task (a real death, mid-run)."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def transition(self, key, start, finish, **kwargs):  # noqa: ANN001, ANN003, ANN201 - dask's signature
        if finish == "executing" and "catchment_task" in str(key) and not os.path.exists(self.marker):
            Path(self.marker).write_text("killed", encoding="utf-8")
            os._exit(1)


class KillAlways(WorkerPlugin):
    """Kills the worker process whenever it starts a catchment task."""

    def transition(self, key, start, finish, **kwargs):  # noqa: ANN001, ANN003, ANN201 - dask's signature
        if finish == "executing" and "catchment_task" in str(key):
            os._exit(1)


class KillOnceAt(WorkerPlugin):
    """Kills the worker process the first time it starts a task whose key names ``task`` (e.g. the
    capacity pass's ``_within_slices``, when the worker holds catchments other tasks need)."""

    def __init__(self, marker: str, task: str) -> None:
        self.marker = marker
        self.task = task

    def transition(self, key, start, finish, **kwargs):  # noqa: ANN001, ANN003, ANN201 - dask's signature
        if finish == "executing" and self.task in str(key) and not os.path.exists(self.marker):
            Path(self.marker).write_text("killed", encoding="utf-8")
            os._exit(1)
