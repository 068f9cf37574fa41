"""Settle closed periods now, in this process: no worker needed.

    manage.py settle                                   every unsettled closed period
    manage.py settle --contract NW-GLOBEX              ... of one contract
    manage.py settle --contract northwind/NW-GLOBEX --period 2026-10-15
    manage.py settle --backfill                        what a backfill would settle
    manage.py settle --backfill --confirm              ... settled, however far back

Unlike the sweep, a manual settlement does not wait for ``settlement_delay_days``. With
``--period`` the period containing that date is settled (again: nothing changed returns
the existing statement, late data or a corrected rule issues a new revision). Like the
sweep, it reaches back ``SETTLEMENT_LOOKBACK_DAYS`` only: older periods (a contract entered
long after it started) are settled by ``--backfill --confirm``, each statement announced
to both parties as usual; ``--backfill`` alone says what that would settle and writes
nothing. Bad input is one line on stderr and a non-zero exit, with nothing written.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

import engine
from contracts import dates
from contracts.models import Contract
from credits.settlement import (
    SettlementError,
    check_settleable,
    due_periods,
    settle_period,
    settled_contracts,
    why_not_settled,
)
from credits.settlement.periods import beyond_reach, reach
from credits.settlement.sweeping import left_to_backfill


def find_contract(reference: str) -> Contract:
    """A contract by ``REF`` or, where references repeat across providers,
    ``provider-slug/REF``."""
    slug, _, ref = reference.rpartition("/")
    matches = Contract.objects.filter(reference=ref).select_related("provider")
    if slug:
        matches = matches.filter(provider__slug=slug)
    found = list(matches[:10])
    if not found:
        raise CommandError(f"No contract with reference {reference!r}.")
    if len(found) > 1:
        choices = ", ".join(f"{c.provider.slug}/{c.reference}" for c in found)
        raise CommandError(
            f"{reference!r} is the reference of several contracts: use one of {choices}."
        )
    return found[0]


class Command(BaseCommand):
    help = "Settle closed periods now (no worker), ignoring settlement_delay_days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--contract",
            action="append",
            metavar="REF",
            help="contract reference, or provider-slug/REF; repeat for several (default: all)",
        )
        parser.add_argument(
            "--period",
            metavar="YYYY-MM-DD",
            help="settle the period containing this date (default: every unsettled closed one)",
        )
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="also periods that ended more than SETTLEMENT_LOOKBACK_DAYS ago; with "
            "--confirm only, else it says what it would settle",
        )
        parser.add_argument(
            "--confirm",
            action="store_true",
            help="settle what --backfill found (a statement and its notices per period)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        backfill = options["backfill"]
        if options["confirm"] and not backfill:
            raise CommandError("--confirm confirms a --backfill: give both, or neither.")
        contracts = [find_contract(ref) for ref in options["contract"] or []]
        if options["period"]:
            day = self._date(options["period"])
            work = self._periods_containing(contracts, day, now, backfill=backfill)
        else:
            work = self._due(contracts, now, backfill=backfill)
        if not work:
            self.stdout.write("Nothing to settle: every closed period already has a statement.")
            self._left_behind(contracts, now, backfill=backfill)
            return
        if backfill and not options["confirm"]:
            raise CommandError(self._backfill_plan(work))

        outcomes: Counter[str] = Counter()
        credits: dict[str, Decimal] = defaultdict(Decimal)
        width = len(str(len(work)))
        for number, (contract, start) in enumerate(work, start=1):
            prefix = f"[{number:>{width}}/{len(work)}] {contract.reference} {start:%Y-%m-%d}"
            try:
                result = settle_period(contract=contract, period_start=start, now=now)
            except SettlementError as exc:
                outcomes["failed"] += 1
                self.stderr.write(f"{prefix} not settled: {exc}")
                continue
            statement = result.statement
            outcome = "issued" if result.created else "unchanged"
            outcomes[outcome] += 1
            credits[statement.currency] += statement.credit_total
            money = engine.format_money(statement.credit_total, statement.currency)
            self.stdout.write(f"{prefix} r{statement.revision} {outcome}, credit {money}")

        totals = ", ".join(engine.format_money(v, c) for c, v in sorted(credits.items())) or "none"
        self.stdout.write(
            f"Settled {len(work) - outcomes['failed']} of {len(work)} contract periods: "
            f"{outcomes['issued']} issued, {outcomes['unchanged']} unchanged; credits {totals}."
        )
        self._left_behind(contracts, now, backfill=backfill)
        if outcomes["failed"]:
            raise CommandError(f"{outcomes['failed']} contract period(s) could not be settled.")

    def _date(self, text: str) -> date:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            raise CommandError(f"--period {text!r} is not a date: use YYYY-MM-DD.") from None
        if not dates.is_within_range(day):
            raise CommandError(
                f"--period {text} is out of range: settlement periods lie between "
                f"{dates.EARLIEST_DAY:%Y} and {dates.LATEST_DAY:%Y}."
            )
        return day

    def _backfill_plan(self, work: list[tuple[Contract, date]]) -> str:
        starts = [start for _, start in work]
        contracts = {contract.pk for contract, _ in work}
        return (
            f"--backfill would settle {len(work)} contract period(s) of {len(contracts)} "
            f"contract(s), starting {min(starts):%Y-%m-%d} to {max(starts):%Y-%m-%d}, each "
            "issuing a statement announced to both parties: add --confirm to settle them."
        )

    def _left_behind(self, contracts: list[Contract], now: datetime, *, backfill: bool) -> None:
        """Say so when history further back than the reach is left unsettled."""
        if backfill:
            return
        behind = left_to_backfill(now, [c.pk for c in contracts] if contracts else None)
        if behind:
            names = ", ".join(c.reference for c in behind[:5])
            self.stderr.write(
                f"{len(behind)} contract(s) ({names}{', …' if len(behind) > 5 else ''}) have "
                f"periods before {reach(now):%Y-%m-%d} without statements, further back than "
                f"SETTLEMENT_LOOKBACK_DAYS: see them with --backfill."
            )

    def _due(
        self, contracts: list[Contract], now: datetime, *, backfill: bool
    ) -> list[tuple[Contract, date]]:
        for contract in contracts:
            reason = why_not_settled(contract)
            if reason is not None:
                raise CommandError(reason)
        ids = [c.pk for c in contracts] if contracts else None
        due = list(due_periods(now, ignore_delay=True, contract_ids=ids, backfill=backfill))
        by_id = {c.pk: c for c in Contract.objects.filter(pk__in={cid for cid, _ in due})}
        return [(by_id[contract_id], start) for contract_id, start in due]

    def _periods_containing(
        self, contracts: list[Contract], day: date, now: datetime, *, backfill: bool
    ) -> list[tuple[Contract, date]]:
        """Check every chosen contract's period before settling any: all or nothing."""
        explicit = bool(contracts)
        if not explicit:
            contracts = list(
                Contract.objects.filter(settled_contracts()).order_by("reference", "pk")
            )
        work = []
        for contract in contracts:
            period = engine.period_containing(day, contract.settlement_period, contract.timezone)
            running = engine.active_interval(period, contract.start_date, contract.end_date)
            if running is None and not explicit:
                continue  # without --contract, contracts not running then are left out
            try:
                check_settleable(contract=contract, period_start=period.start, now=now)
            except SettlementError as exc:
                raise CommandError(str(exc)) from None
            too_old = None if backfill else beyond_reach(period, now)
            if too_old is not None:
                raise CommandError(
                    f"{too_old}: settle {contract.reference}'s with --backfill --confirm."
                )
            work.append((contract, period.start))
        return work
