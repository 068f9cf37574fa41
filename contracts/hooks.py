"""What the contract pages show of settlement and of the integrations, which belong to
other apps.

Dependencies run one way: the settlement side builds on contracts, never the reverse. So
the contract pages ask this port for the figures only settlement knows (this year's
credits, the state of the open period, statements, early warnings, the periods that may be
settled, the what-if preview), and the settlement side plugs its implementation in when it
loads (``CreditsConfig.ready``). Without one the pages show no credits and no settle form,
and say that the preview is unavailable. Likewise the integrations tell which objectives
are fed by a Prometheus pull and how the pull fares (``IntegrationsConfig.ready``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
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

    def credits_between(self, start: date | None, end: date | None) -> Expression:
        """Per contract (``OuterRef("pk")``), the credits of its periods that overlap the
        days from ``start`` to ``end`` (inclusive; either open)."""

    def statements_where(
        self, *, start: date | None, end: date | None, breached: bool, disputed: str
    ) -> Expression:
        """Per contract (``OuterRef("pk")``), whether a statement of a period overlapping
        the range is ``breached`` (an objective missed its target) and/or ``disputed``
        ("open": an open dispute; "any": any dispute; "": either way)."""

    def period_states(self, contracts: Sequence[Contract]) -> dict[int, PeriodState]:
        """Per contract, the state of its current period. Each contract carries the
        ``has_services`` annotation."""

    def statements(self, contract: Contract, user: User, limit: int) -> list[Model]:
        """The contract's latest statements the user may read, each with its ``url``."""

    def attainment_charts(self, contract: Contract, user: User) -> str:
        """A compact chart of attainment against target per objective over its last
        periods, as HTML (empty when nothing is settled or measured yet)."""

    def early_warnings(self, contract: Contract, limit: int) -> list[Model]:
        """The contract's latest early warnings (for the provider's eyes)."""

    def settle_choices(self, contract: Contract, count: int) -> list[tuple[str, str]] | None:
        """The last ``count`` closed periods that may be settled, newest first."""

    def chronic_failures(self, contract: Contract) -> list[Model]:
        """The contract's chronic failures, newest first, each with its statement's
        ``url`` (both parties see them: the customer's right to terminate)."""

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


@dataclass(frozen=True, slots=True)
class ObjectiveFeed:
    """How one objective of a contract service is fed automatically (a Prometheus pull),
    and how the last pulls went: what the objective's page shows its provider."""

    source: str
    query: str
    enabled: bool
    pulled_until: datetime | None
    last_success_at: datetime | None
    last_error: str
    failures: int
    next_attempt_at: datetime | None
    samples_recorded: int
    samples_refused: int
    last_refusal: str
    edit_url: str | None


class Feeds(Protocol):
    # The indicators of the objectives a feed can fill with samples.
    indicators: tuple[str, ...]

    def objective_feeds(
        self, contract: Contract, user: User
    ) -> dict[tuple[int, str], ObjectiveFeed]:
        """Per (contract service id, objective key), the feeds of ``contract`` that ``user``
        may see (a provider's members; never a customer)."""

    def new_feed_url(self, contract: Contract, user: User) -> str | None:
        """Where ``user`` sets up a feed for one of ``contract``'s objectives (ending in a
        query string that the objective's ``contract_service`` and ``key`` complete), or
        None when they may not."""


_feeds: Feeds | None = None


def plug_feeds(feeds: Feeds) -> None:
    """Install the integrations side (called once, when its app loads)."""
    global _feeds
    _feeds = feeds


def feeds() -> Feeds | None:
    """The installed integrations side, or None when there is none."""
    return _feeds
