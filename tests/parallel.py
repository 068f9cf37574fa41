"""Each pytest-xdist worker gets its own broker database, as it gets its own test database.

Loaded with ``-p tests.parallel``, before pytest-django reads the settings: the workers'
Celery processes, purges and queues of one xdist worker must never meet another's. The
test databases need nothing here: pytest-django names them after the xdist worker.
"""

from __future__ import annotations

import os
import re

_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
_broker = os.environ.get("CELERY_BROKER_URL", "")
_number = re.fullmatch(r"gw(\d+)", _worker)
_redis = re.fullmatch(r"(redis://[^/]+/)(\d+)", _broker)
if _number and _redis and int(_number.group(1)) > 0:
    # Downwards from the suite's own database number in steps of two: gw0 keeps it, gw1
    # takes two below, so that `make test` (15) and `make test-shifted` (14) never meet.
    database = (int(_redis.group(2)) - 2 * int(_number.group(1))) % 16
    os.environ["CELERY_BROKER_URL"] = f"{_redis.group(1)}{database}"
