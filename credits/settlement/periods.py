"""Which contracts are settled, over which days, and which of their periods can be settled.

One rule says which contracts are settled and from when until when: :func:`is_settled`
and :func:`settled_contracts` (the same rule, for one contract and as a filter) and
:func:`settled_days`. The sweep's query, its reference implementation and a manual
settlement all follow it.

Active and suspended contracts are settled (a suspension pauses the service, not the
agreement: the periods that closed before and during it still get a statement), and
terminated ones up to their end date (their last periods are still owed; without an end
date there is no telling which periods those are). Drafts never.
"""

from __future__ import annotations

import functools
import operator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext

import engine
from contracts import dates
from contracts.models import Contract
from credits.settlement.results import SettlementError

# The statuses whose periods are settled, each with whether it needs an end date for that.
_SETTLED_STATUSES: dict[str, bool] = {
    Contract.Status.ACTIVE: False,
    Contract.Status.SUSPENDED: False,
    Contract.Status.TERMINATED: True,
}


def is_settled(contract: Contract) -> bool:
    """Whether the contract's periods are settled at all (see the module's docstring)."""
    needs_end_date = _SETTLED_STATUSES.get(contract.status)
    return needs_end_date is not None and (not needs_end_date or contract.end_date is not None)


def why_not_settled(contract: Contract) -> str | None:
    """Why the contract's periods are not settled, in one sentence; None when they are."""
    if is_settled(contract):
        return None
    if contract.status == Contract.Status.TERMINATED:
        return gettext(
            "%(contract)s is terminated without an end date: set the day it ended to settle "
            "its last periods."
        ) % {"contract": contract.reference}
    return gettext(
        "%(contract)s is a %(status)s contract: only active, suspended and terminated "
        "contracts are settled."
    ) % {"contract": contract.reference, "status": contract.get_status_display().lower()}


def settled_contracts() -> Q:
    """:func:`is_settled` as a filter on contracts."""
    return functools.reduce(
        operator.or_,
        (
            Q(status=status, end_date__isnull=False) if needs_end_date else Q(status=status)
            for status, needs_end_date in _SETTLED_STATUSES.items()
        ),
    )


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


def reach(now: datetime) -> date:
    """The earliest day the sweep and ``manage.py settle`` look back to: a period that ended
    before it is settled only by an operator's ``settle --backfill --confirm``, so that a
    contract entered years after it started does not issue (and announce) a statement for
    every period since (``SETTLEMENT_LOOKBACK_DAYS``, in UTC days)."""
    return (now.astimezone(UTC) - timedelta(days=settings.SETTLEMENT_LOOKBACK_DAYS)).date()


def beyond_reach(period: engine.Period, now: datetime) -> str | None:
    """Why ``period`` is left to a backfill, in one sentence; None when it is within reach."""
    earliest = reach(now)
    if period.end >= earliest:
        return None
    return (
        f"The period {_describe(period)} ended before {earliest:%Y-%m-%d}, further back than "
        f"the {settings.SETTLEMENT_LOOKBACK_DAYS} days (SETTLEMENT_LOOKBACK_DAYS) settlement "
        "goes by itself"
    )


def settled_days(contract: Contract, now: datetime) -> tuple[date, date] | None:
    """The first and last day of the contract whose periods are settled by ``now``: from
    its start date to its end date or today in its time zone, whichever comes first.
    None when the contract is not settled or has not started."""
    if not is_settled(contract):
        return None
    last = local_today(now, contract.timezone)
    if contract.end_date is not None:
        last = min(last, contract.end_date)
    return (contract.start_date, last) if contract.start_date <= last else None


def _local_midnight(day: date, tz: str) -> datetime:
    # The same construction as engine.Period.start_at, so both agree at DST changes.
    return engine.Period(day, day, tz).start_at


def _describe(period: engine.Period) -> str:
    return gettext("%(start)s to %(end)s") % {
        "start": f"{period.start:%Y-%m-%d}",
        "end": f"{period.end:%Y-%m-%d}",
    }


def period_of(contract: Contract, period_start: date) -> engine.Period:
    """The contract's period starting on ``period_start`` and overlapping its days."""
    if isinstance(period_start, datetime) or not isinstance(period_start, date):
        raise SettlementError(gettext("%(value)s is not a date.") % {"value": repr(period_start)})
    kind = contract.settlement_period
    period = engine.period_containing(period_start, kind, contract.timezone)
    if period.start != period_start:
        not_a_start = {
            "week": gettext(
                "%(day)s is not the start of a weekly settlement period of %(contract)s: the "
                "period containing it starts on %(start)s."
            ),
            "month": gettext(
                "%(day)s is not the start of a monthly settlement period of %(contract)s: the "
                "period containing it starts on %(start)s."
            ),
            "quarter": gettext(
                "%(day)s is not the start of a quarterly settlement period of %(contract)s: the "
                "period containing it starts on %(start)s."
            ),
        }[kind]
        raise SettlementError(
            not_a_start
            % {
                "day": f"{period_start:%Y-%m-%d}",
                "contract": contract.reference,
                "start": f"{period.start:%Y-%m-%d}",
            }
        )
    if period.end < contract.start_date:
        raise SettlementError(
            gettext("%(contract)s starts on %(day)s: the period %(period)s is before it.")
            % {
                "contract": contract.reference,
                "day": f"{contract.start_date:%Y-%m-%d}",
                "period": _describe(period),
            }
        )
    if contract.end_date is not None and period.start > contract.end_date:
        raise SettlementError(
            gettext("%(contract)s ended on %(day)s: the period %(period)s is after it.")
            % {
                "contract": contract.reference,
                "day": f"{contract.end_date:%Y-%m-%d}",
                "period": _describe(period),
            }
        )
    return period


def check_settleable(*, contract: Contract, period_start: date, now: datetime) -> engine.Period:
    """The period to settle, or :class:`SettlementError` saying why it cannot be settled:
    a contract that is not settled (a draft, a terminated one without an end date), a date
    that is not a period start, a period outside the contract's dates, or a period that has
    not ended yet in the contract's time zone (a manual settlement does not wait for
    ``settlement_delay_days``; the sweep does)."""
    reason = why_not_settled(contract)
    if reason is not None:
        raise SettlementError(reason)
    if isinstance(period_start, date) and not dates.is_within_range(period_start):
        raise SettlementError(
            gettext(
                "%(day)s is not a settlement period: periods lie between %(first)s and %(last)s."
            )
            % {
                "day": f"{period_start:%Y-%m-%d}",
                "first": f"{dates.EARLIEST_DAY:%Y}",
                "last": f"{dates.LATEST_DAY:%Y}",
            }
        )
    if isinstance(period_start, date) and period_start > local_today(now, contract.timezone):
        # Checked before the period's instants, which overflow near the end of the calendar.
        raise SettlementError(
            gettext("The period starting %(day)s of %(contract)s has not started yet.")
            % {"day": f"{period_start:%Y-%m-%d}", "contract": contract.reference}
        )
    period = period_of(contract, period_start)
    if period.end_at > now:
        raise SettlementError(
            gettext(
                "The period %(period)s of %(contract)s has not ended yet: it ends at %(end)s "
                "(%(zone)s)."
            )
            % {
                "period": _describe(period),
                "contract": contract.reference,
                "end": f"{period.end_at:%Y-%m-%d %H:%M}",
                "zone": contract.timezone,
            }
        )
    return period


def settle_after(
    contract: Contract, period: engine.Period, *, ignore_delay: bool = False
) -> datetime:
    """When the sweep may settle ``period``: local midnight ``settlement_delay_days`` after
    it ends (``ignore_delay``: as soon as it ends)."""
    delay = 0 if ignore_delay else contract.settlement_delay_days
    return _local_midnight(period.end + timedelta(days=1 + delay), contract.timezone)


def closed_periods(
    contract: Contract, count: int, now: datetime | None = None
) -> list[engine.Period]:
    """The last ``count`` periods of the contract that have ended by ``now`` and overlap its
    days, oldest first (what the what-if preview recomputes)."""
    now = now or timezone.now()
    kind, tz = contract.settlement_period, contract.timezone
    period = engine.period_containing(local_today(now, tz), kind, tz)
    found: list[engine.Period] = []
    while len(found) < count:
        if period.end_at <= now:
            if period.end < contract.start_date:
                break
            if contract.end_date is None or period.start <= contract.end_date:
                found.append(period)
        period = engine.previous_period(period, kind)
    return found[::-1]
