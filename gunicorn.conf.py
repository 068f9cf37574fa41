"""gunicorn's settings for the portal; gunicorn reads this file from the working directory.

Only what the command line does not say: the Procfile and the benchmarks choose bind
address, workers and threads.
"""

import gc


def post_worker_init(worker: object) -> None:
    """Once the worker has loaded the application (and, here, every URL module with the
    views and serializers they import), its objects move to the collector's permanent
    generation: a full collection then no longer walks Django's ~140,000 objects, which
    paused one request in a few hundred for ~60 ms."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the URL modules now
    gc.freeze()
