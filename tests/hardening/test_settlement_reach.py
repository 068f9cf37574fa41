"""The sweep and `manage.py settle` reach back SETTLEMENT_LOOKBACK_DAYS only: a contract
entered long after it started (the sweep once settled 6,622 weekly periods since 1900) has
its history settled only by an operator's `settle --backfill --confirm`."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import date

import pytest
import time_machine
from django.conf import settings as django_settings
from django.db import connections

from credits.management.commands.settle import Command
from credits.models import Statement
from credits.settlement import due_periods, sweep, sweeping
from credits.settlement.periods import reach
from tests.credits.settlement_book import at, contract, objective, service

pytestmark = pytest.mark.django_db

NOW = at(2026, 11, 3, 12)
RULE = {"kind": "per_step", "step": "0.5", "percent": "1"}


@pytest.fixture(autouse=True)
def lookback(settings):
    # 2026-11-03 less 100 days: the reach is 2026-07-26, inside July.
    settings.SETTLEMENT_LOOKBACK_DAYS = 100
    with time_machine.travel(NOW, tick=False):
        yield


def monthly(reference: str, start: date):
    c = contract(reference=reference, start=start, period="month")
    service(c, fee="1000.00")
    objective(c, key="on-time", indicator="ratio", target="99.5", rule=RULE)
    return c


def settle(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(connections, "close_all", lambda: None)
    try:
        Command().run_from_argv(["manage.py", "settle", *args])
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def test_the_reach_is_lookback_days_before_now_in_utc():
    assert reach(NOW) == date(2026, 7, 26)


@pytest.mark.parametrize("engine", ["sql", "python"])
def test_due_periods_start_at_the_period_containing_the_reach(engine):
    old = monthly("OLD", date(2020, 1, 1))
    recent = monthly("NEW", date(2026, 9, 15))
    find = (
        due_periods
        if engine == "sql"
        else lambda now, backfill=False: sweeping._due_periods_python(now, False, None, backfill)
    )

    due = list(find(NOW))
    everything = list(find(NOW, backfill=True))

    # July contains the reach (it ends after it); June and everything before are left.
    assert due == [
        (old.pk, date(2026, 7, 1)),
        (old.pk, date(2026, 8, 1)),
        (old.pk, date(2026, 9, 1)),
        (recent.pk, date(2026, 9, 1)),
        (old.pk, date(2026, 10, 1)),
        (recent.pk, date(2026, 10, 1)),
    ]
    assert len([pair for pair in everything if pair[0] == old.pk]) == 82  # 2020-01 to 2026-10
    assert everything[0] == (old.pk, date(2020, 1, 1))


def test_the_sweep_leaves_older_history_and_says_so(caplog):
    old = monthly("OLD", date(2020, 1, 1))
    monthly("NEW", date(2026, 9, 15))

    with caplog.at_level(logging.WARNING, logger="credits.settlement.sweeping"):
        found = sweep(now=NOW)

    assert found == 6
    assert [c.reference for c in sweeping.left_to_backfill(NOW)] == [old.reference]
    assert (
        "1 contract(s) have periods before 2026-07-26 without statements, further back than "
        "SETTLEMENT_LOOKBACK_DAYS (100 days)"
    ) in caplog.text
    assert "settle --backfill --confirm" in caplog.text


def test_settle_stops_at_the_reach_and_names_what_it_left(monkeypatch, capsys):
    monthly("OLD", date(2026, 1, 1))

    code, out, err = settle(monkeypatch, capsys)

    assert code == 0, err
    assert "Settled 4 of 4 contract periods" in out  # July to October
    assert sorted(Statement.objects.values_list("period_start", flat=True)) == [
        date(2026, 7, 1),
        date(2026, 8, 1),
        date(2026, 9, 1),
        date(2026, 10, 1),
    ]
    assert err.strip() == (
        "1 contract(s) (OLD) have periods before 2026-07-26 without statements, further back "
        "than SETTLEMENT_LOOKBACK_DAYS: see them with --backfill."
    )


def test_settling_a_period_beyond_the_reach_is_one_line_and_a_non_zero_exit(monkeypatch, capsys):
    monthly("OLD", date(2026, 1, 1))

    code, out, err = settle(monkeypatch, capsys, "--period", "2026-06-15")

    assert code == 1
    assert out == ""
    assert err.strip() == (
        "CommandError: The period 2026-06-01 to 2026-06-30 ended before 2026-07-26, further "
        "back than the 100 days (SETTLEMENT_LOOKBACK_DAYS) settlement goes by itself: settle "
        "OLD's with --backfill --confirm."
    )
    assert not Statement.objects.exists()


def test_backfill_without_confirm_says_what_it_would_settle_and_writes_nothing(monkeypatch, capsys):
    monthly("OLD", date(2026, 1, 1))
    monthly("OTHER", date(2026, 3, 1))

    code, _, err = settle(monkeypatch, capsys, "--backfill")

    assert code == 1
    assert err.strip() == (
        "CommandError: --backfill would settle 18 contract period(s) of 2 contract(s), "
        "starting 2026-01-01 to 2026-10-01, each issuing a statement announced to both "
        "parties: add --confirm to settle them."
    )
    assert not Statement.objects.exists()


def test_backfill_confirmed_settles_the_whole_history(monkeypatch, capsys):
    old = monthly("OLD", date(2026, 1, 1))

    code, out, err = settle(monkeypatch, capsys, "--backfill", "--confirm", "--contract", "OLD")

    assert code == 0, err
    assert "Settled 10 of 10 contract periods: 10 issued" in out
    assert Statement.objects.filter(contract=old).count() == 10
    assert err == ""
    assert sweeping.left_to_backfill(NOW) == []


def test_backfill_of_one_old_period(monkeypatch, capsys):
    monthly("OLD", date(2026, 1, 1))

    code, _, err = settle(monkeypatch, capsys, "--period", "2026-02-01", "--backfill", "--confirm")

    assert code == 0, err
    assert list(Statement.objects.values_list("period_start", flat=True)) == [date(2026, 2, 1)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--confirm"], "CommandError: --confirm confirms a --backfill: give both, or neither."),
        (
            ["--period", "0001-01-01"],
            "CommandError: --period 0001-01-01 is out of range: settlement periods lie between "
            "1970 and 2199.",
        ),
        (
            ["--period", "9999-12-31", "--backfill", "--confirm"],
            "CommandError: --period 9999-12-31 is out of range: settlement periods lie between "
            "1970 and 2199.",
        ),
    ],
)
def test_bad_backfill_input_is_one_line_and_writes_nothing(monkeypatch, capsys, args, message):
    monthly("OLD", date(2026, 1, 1))

    code, _, err = settle(monkeypatch, capsys, *args)

    assert (code, err.strip()) == (1, message)
    assert not Statement.objects.exists()


def test_the_lookback_setting_must_be_a_positive_number_of_days():
    result = subprocess.run(
        [sys.executable, str(django_settings.BASE_DIR / "manage.py"), "check"],
        env={**os.environ, "SETTLEMENT_LOOKBACK_DAYS": "0"},
        capture_output=True,
        text=True,
    )

    assert result.returncode != 0
    assert "SETTLEMENT_LOOKBACK_DAYS must be a number of days, 1 or more" in result.stderr
