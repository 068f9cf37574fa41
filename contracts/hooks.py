"""What the contract pages show of settlement, which belongs to another app.

Dependencies run one way: the settlement side builds on contracts, never the reverse. So
the contract pages ask this port for the figures only settlement knows (this year's
credits, the state of the open period, statements, early warnings, the periods that may be
settled, the what-if preview), and the settlement side plugs its implementation in when it
loads (``CreditsConfig.ready``). Without one the pages show no credits and no settle form,
and say that the preview is unavailable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from django.contrib.auth.models import User
from django.db.models import Expression, Model

import engine
from contracts.models import Contract, ServiceLevel


@dataclass(frozen=True, slots=True)
class PeriodState:
    """How a contract's open period stands: a state name and the words shown for it."""

    state: str
    label: str


@dataclass(slots=True)
class PreviewRow:
    """What one objective would have decided for one service in one closed period."""

    period: engine.Period
    service: str
    attainment: str
    met: bool | None
    credit: Decimal
    explanation: str


class PreviewUnavailable(Exception):
    """The preview cannot be computed for this contract; the message says why."""


class Settlement(Protocol):
    def credits_this_year(self, year: int) -> Expression:
        """Per contract (``OuterRef("pk")``), the credits of ``year``'s periods."""

    def period_states(self, contracts: Sequence[Contract]) -> dict[int, PeriodState]:
        """Per contract, the state of its current period. Each contract carries the
        ``has_services`` annotation."""

    def statements(self, contract: Contract, user: User, limit: int) -> list[Model]:
        """The contract's latest statements the user may read, each with its ``url``."""

    def early_warnings(self, contract: Contract, limit: int) -> list[Model]:
        """The contract's latest early warnings (for the provider's eyes)."""

    def settle_choices(self, contract: Contract, count: int) -> list[tuple[str, str]] | None:
        """The last ``count`` closed periods that may be settled, newest first."""

    def what_if(
        self,
        service_level: ServiceLevel,
        objective: engine.Objective,
        contract: Contract,
        count: int,
    ) -> list[PreviewRow]:
        """What ``service_level`` as edited (not saved) would have decided over the
        contract's last ``count`` closed periods. Raises ``PreviewUnavailable``."""


_settlement: Settlement | None = None


def plug(settlement: Settlement) -> None:
    """Install the settlement side (called once, when its app loads)."""
    global _settlement
    _settlement = settlement


def settlement() -> Settlement | None:
    """The installed settlement side, or None when there is none."""
    return _settlement
