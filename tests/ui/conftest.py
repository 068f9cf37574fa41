"""Fixtures of the page tests."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from credits.settlement import settle_period, warn_early
from tests.credits.settlement_book import at, contract, objective, ratio, service


@pytest.fixture
def settled(personas):
    """DE-2: November settled (99 of 100 samples ok against 95 %), a few December samples."""
    with time_machine.travel(datetime(2026, 12, 10, 12, tzinfo=UTC), tick=False):
        fresh = contract(
            reference="DE-2",
            start=date(2026, 10, 1),
            provider=personas.provider,
            customer=personas.customer,
        )
        cs = service(fresh)
        objective(fresh, key="delivery", indicator="ratio", target="95")
        ratio(cs, "delivery", at(2026, 11, 10, 9), ok=99, total=100)
        ratio(cs, "delivery", at(2026, 12, 10, 9), ok=3, total=4)
        statement = settle_period(contract=fresh, period_start=date(2026, 11, 1)).statement
        warn_early(contract=fresh)
    return fresh, statement
