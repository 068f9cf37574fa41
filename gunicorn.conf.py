"""gunicorn's settings for the portal; gunicorn reads this file from the working directory.

Only what the command line does not say: the Procfile and the benchmarks choose bind
address, workers and threads.
"""

import gc
import os
import shutil
from pathlib import Path


def on_starting(server: object) -> None:
    """Prometheus counters of every worker of this server go to files in one directory
    and /metrics adds them up (prometheus_client's multiprocess mode). Set here, in the
    master, before any worker imports the application; one directory per server (two
    servers on one machine must not count each other's), emptied at start: files of
    workers that no longer exist would be counted again."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or str(
        Path(os.environ.get("SLAPORTAL_VAR_DIR", "var")).resolve()
        / "prometheus"
        / f"gunicorn-{os.getpid()}"
    )
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    shutil.rmtree(directory, ignore_errors=True)
    Path(directory).mkdir(parents=True, exist_ok=True)


def on_exit(server: object) -> None:
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def child_exit(server: object, worker) -> None:
    """A worker's live gauges end with it; its counters stay in the sums."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: object) -> None:
    """Once the worker has loaded the application (and, here, every URL module with the
    views and serializers they import), its objects move to the collector's permanent
    generation: a full collection then no longer walks Django's ~140,000 objects, which
    paused one request in a few hundred for ~60 ms."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URL modules now
    gc.freeze()
