"""`manage.py settle`: progress, summary, and one readable line for bad input."""

from __future__ import annotations

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connections

from credits.management.commands.settle import Command
from credits.models import Statement
from tests.credits.settlement_book import at, contract, objective, ratio, service
from tests.factories import ProviderFactory

pytestmark = pytest.mark.django_db

NOW = at(2026, 11, 3, 12)
E1_RULE = {"kind": "per_step", "step": "0.5", "percent": "1"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def settle(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    """Run the command as from a shell: its exit code, stdout and stderr."""
    # run_from_argv closes every connection when done, which would end the test's transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    try:
        Command().run_from_argv(["manage.py", "settle", *args])
        code = 0
    except SystemExit as exit:
        code = exit.code
    out, err = capsys.readouterr()
    return code, out, err


def reports(reference: str, start: date, period: str = "month", currency: str = "EUR", **kw):
    c = contract(reference=reference, start=start, period=period, currency=currency, **kw)
    cs = service(c, fee="2000.00")
    objective(c, key="on-time", indicator="ratio", target="99.5", rule=E1_RULE)
    return c, cs


def test_settle_shows_progress_per_contract_period_and_a_summary(monkeypatch, capsys):
    globex, cs = reports("NW-GLOBEX", date(2026, 9, 1))
    reports("CR-INITECH", date(2026, 10, 19), period="week", currency="USD")
    ratio(cs, "on-time", at(2026, 10, 2), 987, 1000)

    code, out, err = settle(monkeypatch, capsys)

    assert code == 0, err
    lines = out.splitlines()
    # September and October of NW-GLOBEX; two weeks of CR-INITECH (the second ended on
    # Sunday: the manual settlement does not wait for the settlement delay). Oldest first.
    assert lines[:4] == [
        "[1/4] NW-GLOBEX 2026-09-01 r1 issued, credit 0.00 EUR",
        "[2/4] NW-GLOBEX 2026-10-01 r1 issued, credit 40.00 EUR",
        "[3/4] CR-INITECH 2026-10-19 r1 issued, credit 0.00 USD",
        "[4/4] CR-INITECH 2026-10-26 r1 issued, credit 0.00 USD",
    ]
    assert lines[4] == (
        "Settled 4 of 4 contract periods: 4 issued, 0 unchanged; credits 40.00 EUR, 0.00 USD."
    )
    assert Statement.objects.count() == 4
    assert Statement.objects.get(contract=globex, period_start=date(2026, 10, 1)).credit_total == 40

    code, out, _ = settle(monkeypatch, capsys)
    assert out.strip() == "Nothing to settle: every closed period already has a statement."


def test_settle_one_period_of_one_contract_again_reports_it_unchanged(monkeypatch, capsys):
    reports("NW-GLOBEX", date(2026, 9, 1))
    reports("OTHER", date(2026, 9, 1))

    first = settle(monkeypatch, capsys, "--contract", "NW-GLOBEX", "--period", "2026-10-15")
    again = settle(monkeypatch, capsys, "--contract", "NW-GLOBEX", "--period", "2026-10-01")

    assert first[0] == 0
    assert first[1].splitlines()[0] == "[1/1] NW-GLOBEX 2026-10-01 r1 issued, credit 0.00 EUR"
    assert again[1].splitlines()[0] == "[1/1] NW-GLOBEX 2026-10-01 r1 unchanged, credit 0.00 EUR"
    assert "0 issued, 1 unchanged" in again[1]
    assert list(Statement.objects.values_list("contract__reference", "period_start")) == [
        ("NW-GLOBEX", date(2026, 10, 1))
    ]


def test_late_data_then_settle_issues_revision_2(monkeypatch, capsys):
    _, cs = reports("NW-GLOBEX", date(2026, 10, 1))
    call_command("settle", "--contract", "NW-GLOBEX", "--period", "2026-10-01", stdout=StringIO())
    ratio(cs, "on-time", at(2026, 10, 2), 987, 1000)

    code, out, _ = settle(monkeypatch, capsys, "--contract", "NW-GLOBEX", "--period", "2026-10-01")

    assert code == 0
    assert out.splitlines()[0] == "[1/1] NW-GLOBEX 2026-10-01 r2 issued, credit 40.00 EUR"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--contract", "NOPE"], "No contract with reference 'NOPE'."),
        (["--contract", "NW-GLOBEX", "--period", "2026-13-01"], "is not a date: use YYYY-MM-DD"),
        (["--contract", "NW-GLOBEX", "--period", "2026-11-02"], "has not ended yet"),
        (["--period", "2026-11-02"], "has not ended yet"),
        (["--contract", "NW-GLOBEX", "--period", "2026-08-10"], "starts on 2026-09-01"),
        (["--contract", "DRAFT"], "DRAFT is a draft contract"),
        (["--contract", "DRAFT", "--period", "2026-10-01"], "DRAFT is a draft contract"),
    ],
)
def test_bad_input_is_one_line_on_stderr_a_non_zero_exit_and_nothing_written(
    monkeypatch, capsys, args, message
):
    reports("NW-GLOBEX", date(2026, 9, 1))
    reports("DRAFT", date(2026, 9, 1), status="draft")

    code, out, err = settle(monkeypatch, capsys, *args)

    assert code != 0
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert out == ""
    assert not Statement.objects.exists()


def test_one_open_period_among_several_contracts_settles_none(monkeypatch, capsys):
    reports("MONTHLY", date(2026, 9, 1))
    reports("WEEKLY", date(2026, 9, 7), period="week")

    # 1 November 2026 is a Sunday: its week has ended, its month has not.
    code, _, err = settle(
        monkeypatch,
        capsys,
        "--contract",
        "WEEKLY",
        "--contract",
        "MONTHLY",
        "--period",
        "2026-11-01",
    )

    assert code != 0
    assert "of MONTHLY has not ended yet" in err
    assert not Statement.objects.exists()


def test_a_reference_used_by_two_providers_asks_for_the_provider(monkeypatch, capsys):
    reports("SHARED", date(2026, 9, 1), provider=ProviderFactory(slug="acme"))
    reports("SHARED", date(2026, 9, 1), provider=ProviderFactory(slug="umbrella"))

    code, _, err = settle(monkeypatch, capsys, "--contract", "SHARED")
    chosen = settle(monkeypatch, capsys, "--contract", "umbrella/SHARED", "--period", "2026-09-30")

    assert code != 0
    assert "use one of acme/SHARED, umbrella/SHARED" in err
    assert chosen[0] == 0
    assert list(Statement.objects.values_list("contract__provider__slug", flat=True)) == [
        "umbrella"
    ]


@pytest.mark.slow
@time_machine.travel("2026-11-27T12:00:00Z", tick=False)
def test_the_demo_book_comes_with_statements_and_loading_it_again_issues_none():
    call_command("loaddemo", stdout=StringIO())
    statements = Statement.objects.count()
    settled = set(Statement.objects.values_list("contract__reference", flat=True))

    call_command("loaddemo", stdout=StringIO())

    assert settled == {"NW-GLOBEX", "NW-INITECH", "CR-GLOBEX", "MKT-SALES", "FAB-GLOBEX"}
    assert Statement.objects.count() == statements
    assert not Statement.objects.exclude(revision=1).exists()
    # The book starts on 1 August 2026 (about 110 days back): August to October are closed.
    assert Statement.objects.filter(contract__reference="NW-GLOBEX").count() == 3
