"""New data for a contract's open period: the period is measured again within a minute,
not at the next sweep, so the dashboard, the contract list and the objective page (which
all read that measure, ``credits.progress``) show it at once.

Sent by name after commit (contracts never imports the credits app); a burst of batches
for one contract sends one task, which runs ``REFRESH_DELAY_SECONDS`` later and so sees
every batch of the burst.
"""

from __future__ import annotations

from collections.abc import Iterable

from celery import signature
from django.core.cache import cache
from django.db import transaction

MEASURE_TASK = "credits.warn_open_periods"
REFRESH_DELAY_SECONDS = 20


def measure_open_periods_soon(contract_ids: Iterable[int]) -> None:
    """After the current transaction commits, have the open periods of these contracts
    measured again (unless a measure is already on its way)."""
    ids = sorted(set(contract_ids))
    if ids:
        transaction.on_commit(lambda: _send(ids), robust=True)


def _send(contract_ids: list[int]) -> None:
    due = [
        contract_id
        for contract_id in contract_ids
        if cache.add(f"open-period-measure:{contract_id}", 1, REFRESH_DELAY_SECONDS)
    ]
    if due:
        signature(MEASURE_TASK, args=(due,)).apply_async(countdown=REFRESH_DELAY_SECONDS)
