"""A statement's explanations in the reader's language: issued once in English (the API, the
CSV and the audit read that text), kept beside it as parts (engine.phrases), and read on a
German page, PDF and e-mail as German sentences with exactly the figures issued."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from contracts.models import ServiceCalendar, ServiceLevel
from credits import notify
from credits.models import ChronicFailure, StatementAdjustment, StatementLine
from credits.settlement import settle_period
from credits.settlement.compute import _relief_note
from engine import (
    CountMeasure,
    Objective,
    RatioMeasure,
    TicketMeasure,
    UptimeMeasure,
    evaluate,
    phrases,
)
from engine.calendars import ServiceCalendar as EngineCalendar
from engine.calendars import describe_calendar
from engine.history import CurrentLine, LineOutcome, PeriodOutcome, earn_back
from engine.projection import project_breach, project_ticket_breach, too_few_parts
from engine.rules import parse_rule
from engine.tickets import TicketClock, TicketOutcome
from engine.totals import AcceptedClaim, Remedy, total_statement
from tests.credits.settlement_book import at, contract, objective, ratio, samples, service
from tests.credits.test_views_support import LineSpec, make_statement
from tests.factories import IncidentFactory
from tests.i18n.test_german import _read, issued_emails, numbers, visible_text

pytestmark = pytest.mark.django_db

JANUARY = date(2026, 1, 1)
SETTLED = datetime(2026, 2, 10, 9, tzinfo=UTC)
WEEKDAYS = [[["08:00", "18:00"]] for _ in range(5)] + [[], []]

# What an English explanation says that a German reader must not read.
ENGLISH = [
    "against a target",
    "of downtime",
    "service hours",
    "started step",
    "tier:",
    "at-risk amount of",
    "samples",
    "Held for earn-back",
    "earns it back",
    "Chronic failure",
    "Credits of",
    "no credit",
    "short;",
]


def book(personas):
    """January 2026 in Berlin with a 5 % cap: an uptime objective in office hours
    (per step), on-time delivery with earn-back and chronic failure (flat), latency
    (tiered) and success (a share of the at-risk pool), every one breached."""
    c = contract(
        tz="Europe/Berlin",
        cap="5",
        reference="CR-DE",
        provider=personas.provider,
        customer=personas.customer,
    )
    office = service(c, fee="12345.67", name="Office line")
    reports = service(c, fee="1000.00", name="Reports")
    api = service(c, fee="2000.00", name="API")
    hours = ServiceCalendar.objects.create(
        provider=c.provider,
        name="Office hours",
        timezone="Europe/Berlin",
        hours=WEEKDAYS,
        holiday_country="DE",
        holiday_subdivision="BE",
    )
    uptime = objective(
        c,
        office,
        key="availability",
        indicator="uptime",
        target="99.5",
        rule={"kind": "per_step", "step": "0.5", "percent": "2"},
        name="Availability",
    )
    ServiceLevel.objects.filter(pk=uptime.pk).update(calendar=hours)
    on_time = objective(
        c,
        reports,
        key="on-time",
        indicator="ratio",
        target="99",
        rule={"kind": "flat", "percent": "10", "earn_back_periods": 2},
        name="On-time delivery",
    )
    ServiceLevel.objects.filter(pk=on_time.pk).update(chronic_breaches=1, chronic_window=3)
    objective(
        c,
        api,
        key="latency",
        indicator="threshold",
        target="95",
        threshold="200",
        threshold_comparator="lte",
        rule={
            "kind": "tiered",
            "tiers": [{"bound": "95", "percent": "5"}, {"bound": "90", "percent": "15"}],
        },
        name="Latency",
    )
    objective(
        c,
        api,
        key="success",
        indicator="ratio",
        target="99.9",
        rule={"kind": "pool", "allocation_percent": "20"},
        name="Success",
    )
    start = at(2026, 1, 5, 9, tz="Europe/Berlin")
    IncidentFactory(
        contract_service=office,
        key="availability",
        started_at=start,
        ended_at=start + timedelta(hours=4),
    )
    ratio(reports, "on-time", at(2026, 1, 2), 95, 100)
    ratio(api, "success", at(2026, 1, 2), 1_980, 2_000)
    samples(api, "latency", at(2026, 1, 3), values=[150] * 80 + [300] * 20)
    return c


@pytest.fixture
def statement(personas):
    c = book(personas)
    return settle_period(contract=c, period_start=JANUARY, now=SETTLED, announce=False).statement


def explained_rows(statement):
    return [
        *StatementLine.objects.filter(statement=statement),
        *StatementAdjustment.objects.filter(statement=statement),
        *ChronicFailure.objects.filter(statement=statement),
    ]


def test_every_explanation_keeps_its_parts_and_reads_in_german_with_the_figures_issued(
    statement,
):
    rows = explained_rows(statement)
    kinds = {row.kind for row in rows if isinstance(row, StatementAdjustment)}
    assert kinds == {"earn_back_held", "chronic_failure"}
    assert statement.cap_adjustment < 0
    lines = [row for row in rows if isinstance(row, StatementLine)]
    assert len(lines) == 4 and all(line.met is False for line in lines)
    assert any(line.held for line in lines)
    for row in rows:
        assert row.explanation_parts, row
        # The parts are the issued text: read in English they are it, character for character.
        with translation.override("en"):
            assert phrases.render(row.explanation_parts) == row.explanation
            assert row.explanation_text == row.explanation
        with translation.override("de"):
            german = row.explanation_text
        assert numbers(german, "de") == numbers(row.explanation, "en"), german
        for english in ENGLISH:
            assert english not in german, (english, german)
    with translation.override("de"):
        texts = {line.key: line.explanation_text for line in lines}
    assert "12.345,67 EUR" in texts["availability"]
    assert "Servicezeiten" in texts["availability"]
    assert "einbehalten: 100,00 EUR" in texts["on-time"]
    assert "1.980 von 2.000" in texts["success"]


def test_the_api_and_csv_keep_the_english_text_as_issued(client, personas, statement):
    user = personas.customer_member
    document = _read(client, user, f"/api/v1/statements/{statement.pk}/", "de").json()
    stored = {line.explanation for line in statement.lines.all()}
    assert {line["explanation"] for line in document["lines"]} == stored
    csv_text = _read(client, user, reverse("statement-csv", args=[statement.pk]), "de")
    csv_text = csv_text.content.decode()
    assert "Held for earn-back" in csv_text


@time_machine.travel(datetime(2026, 2, 10, 10, tzinfo=UTC), tick=False)
def test_the_page_and_pdf_say_every_explanation_in_german_with_the_same_figures(
    client, personas, statement
):
    user = personas.customer_member
    issued = [row.explanation for row in explained_rows(statement)]

    def page(language):
        html = _read(client, user, reverse("statement-detail", args=[statement.pk]), language)
        return visible_text(html.content.decode()).replace("&#x27;", "'")

    def pdf(language):
        response = _read(client, user, reverse("statement-pdf", args=[statement.pk]), language)
        pages = PdfReader(io.BytesIO(response.content)).pages
        return " ".join(" ".join(each.extract_text() for each in pages).split())

    for read in (page, pdf):
        english, german = read("en"), read("de")
        assert numbers(german, "de") == numbers(english, "en"), read.__name__
        assert "12.345,67 EUR" in german and "einbehalten" in german
        for text in issued:
            if read is page:  # the PDF breaks long sentences over lines
                assert text in english
            assert text not in german
        for words in ENGLISH:
            assert words not in german, (read.__name__, words)


def test_an_email_says_each_line_in_the_recipients_language(personas, statement):
    german, english = issued_emails(personas, statement)
    lines = [line.explanation for line in statement.lines.all()]
    for part in ("text", "html"):
        german_part, english_part = german[part], english[part]
        if part == "html":
            german_part, english_part = visible_text(german_part), visible_text(english_part)
        english_part = english_part.replace("&#x27;", "'")
        assert numbers(german_part, "de") == numbers(english_part, "en"), part
        for text in lines:
            assert text in english_part
            assert text not in german_part
        for words in ENGLISH:
            assert words not in german_part, (part, words)


def test_the_chronic_failure_notice_is_in_the_readers_language(personas, statement):
    failure = ChronicFailure.objects.get(statement=statement)
    with translation.override("de"):
        notice = notify.events.chronic_failure_notice(failure.pk)
    assert notice.body.startswith("Chronische Verfehlung")
    assert failure.explanation not in notice.body


def test_a_line_issued_before_the_parts_were_kept_shows_its_text_as_issued(client, personas):
    cs = personas.contract.services.first()
    old = make_statement(
        personas.contract,
        period_start=date(2025, 11, 1),
        lines=[LineSpec(cs, Decimal("12.50"), attainment=Decimal("98.5"), fee=Decimal("250"))],
    )
    line = old.lines.get()
    assert line.explanation_parts is None and line.explanation
    html = _read(
        client, personas.customer_member, reverse("statement-detail", args=[old.pk]), "de"
    ).content.decode()
    assert line.explanation in visible_text(html).replace("&#x27;", "'")


def test_parts_survive_json_and_refuse_what_they_are_not():
    parts = phrases.message(
        "%(amount)s in %(period)s",
        amount=phrases.money(Decimal("1234.50"), "EUR"),
        period=phrases.period(date(2026, 1, 1), date(2026, 1, 31)),
    )
    again = json.loads(json.dumps(parts))
    with translation.override("de"):
        assert phrases.render(again) == "1.234,50 EUR in Januar 2026"
    with translation.override("en"):
        assert phrases.render(again) == "1,234.50 EUR in January 2026"
    with pytest.raises(ValueError, match="not the parts"):
        phrases.render({"unknown": 1})


def test_every_row_below_the_lines_reads_in_german_with_the_same_figures():
    """The minimum credit, a correction, an agreed adjustment, an accepted claim, and
    earn-back paying, earning back and paying at the contract's end, from the engine."""
    january, february, march = (
        phrases.period(date(2026, month, 1), date(2026, month, 28)) for month in (1, 2, 3)
    )
    key = (1, "on-time")

    def held_in(label, met=False):
        return PeriodOutcome(
            label, {key: LineOutcome(met=met, held=Decimal("1250.00"), earn_back_periods=2)}
        )

    def line(met):
        return CurrentLine(key=key, label="On-time delivery (Reports)", met=met, amount=Decimal(0))

    rows = [
        *total_statement(
            [Decimal("40.00")],
            at_risk=None,
            currency="EUR",
            minimum_credit=Decimal("1500.00"),
            remedies=[
                Remedy(7),
                Remedy(8, resolution="Ticket 12 counted twice"),
                Remedy(9, Decimal("2500.50")),
            ],
            claims=[
                AcceptedClaim(
                    3,
                    phrases.join(
                        [
                            "Managed WAN",
                            phrases.span(
                                datetime(2026, 1, 5, 10, tzinfo=UTC),
                                datetime(2026, 1, 5, 12, tzinfo=UTC),
                                "Europe/Berlin",
                            ),
                        ],
                        ", ",
                    ),
                )
            ],
        ).adjustments,
        *earn_back(
            [held_in(january)],
            [line(False)],
            available=Decimal(0),
            final=False,
            currency="EUR",
            period_name="month",
            label=february,
        ).rows,
        *earn_back(
            [held_in(january), held_in(february, met=True)],
            [line(True)],
            available=Decimal(0),
            final=False,
            currency="EUR",
            period_name="month",
            label=march,
        ).rows,
        *earn_back(
            [held_in(january)],
            [line(True)],
            available=Decimal(0),
            final=True,
            currency="EUR",
            period_name="quarter",
            label=february,
        ).rows,
    ]
    assert len(rows) == 8
    for row in rows:
        with translation.override("en"):
            assert phrases.render(row.parts) == row.explanation
        with translation.override("de"):
            german = phrases.render(row.parts)
        assert numbers(german, "de") == numbers(row.explanation, "en"), german
        for english in [*ENGLISH, "dispute", "Claim", "Earn-back", "payable", "January"]:
            assert english not in german, (english, german)
    with translation.override("de"):
        german = [phrases.render(row.parts) for row in rows]
    assert "Ticket 12 counted twice" in german[2]  # a person's words stay as written
    assert "2.500,50 EUR" in german[3] and "05.01.2026 11:00 bis 13:00 CET" in german[4]


def _objective(key, indicator, target, rule, **more):
    return Objective(
        key=key,
        name=key.capitalize(),
        indicator=indicator,
        comparator=more.pop("comparator", "gte"),
        target=Decimal(target),
        rule=parse_rule(rule),
        **more,
    )


def _ticket(reference, minutes, stopped=0, running=False, met=False):
    clock = TicketClock(minutes * 60, stopped * 60, (minutes + stopped) * 60, running=running)
    return TicketOutcome(reference, "P1", clock, met)


@pytest.mark.parametrize(
    ("level", "measure"),
    [
        (
            _objective(
                "resolution",
                "resolution_time",
                "90",
                {"kind": "linear", "factor": "1.5", "max_percent": "20"},
                threshold=Decimal(240),
                priority="P1",
            ),
            TicketMeasure(
                "resolution",
                Decimal(240),
                "P1",
                (
                    _ticket("INC-1", 120, met=True),
                    _ticket("INC-5", 210, stopped=180, met=True),
                    _ticket("INC-7", 330),
                    _ticket("INC-9", 1_300, stopped=30, running=True),
                ),
            ),
        ),
        (
            _objective(
                "errors",
                "count",
                "5",
                {"kind": "linear", "factor": "1.5", "max_percent": "10"},
                comparator="lte",
            ),
            CountMeasure(total=Decimal(12), samples=12),
        ),
        (
            _objective(
                "uptime", "uptime", "99.9", {"kind": "per_step", "step": "0.1", "percent": "5"}
            ),
            UptimeMeasure(scheduled_seconds=2_678_400, downtime_seconds=7_325),
        ),
        (
            _objective("on-time", "ratio", "99", {"kind": "flat", "amount": "5000"}),
            RatioMeasure(ok=1_234, total=1_300),
        ),
        (_objective("on-time", "ratio", "99", None), RatioMeasure(ok=0, total=0)),
        (
            _objective("response", "response_time", "90", None, threshold=Decimal(30)),
            TicketMeasure("response", Decimal(30), None),
        ),
    ],
    ids=[
        "tickets-linear",
        "count-linear-capped",
        "uptime-per-step",
        "flat-amount",
        "no-data",
        "no-tickets",
    ],
)
def test_every_kind_of_line_reads_in_german_with_the_same_figures(level, measure):
    result = evaluate(
        level, measure, fee=Decimal("4321.50"), currency="EUR", at_risk=None, period_label="API"
    )
    with translation.override("en"):
        assert phrases.render(result.parts) == result.explanation
    with translation.override("de"):
        german = phrases.render(result.parts)
    assert numbers(german, "de") == numbers(result.explanation, "en"), german
    for english in [*ENGLISH, "tickets resolved", "worst", "stopped", "still open", "flat", "over"]:
        assert english not in german, (english, german)


def test_relief_reads_in_german_with_the_same_figures():
    notes = [
        _relief_note("uptime", {"relieved_seconds": 3_725}),
        _relief_note("ratio", {"relieved_samples": 1}),
        _relief_note("ratio", {"relieved_samples": 1_234}),
    ]
    for note in notes:
        with translation.override("en"):
            english = phrases.render(note)
        with translation.override("de"):
            german = phrases.render(note)
        assert english.startswith("Relief: ") and german.startswith("Entlastung: ")
        assert numbers(german, "de") == numbers(english, "en")
    assert _relief_note("uptime", {"relieved_seconds": 0}) is None


def test_an_open_periods_warnings_read_in_german_with_the_same_figures():
    """What the dashboard and the objective page say of an open period (credits.progress
    keeps these parts beside the English text)."""
    ratio_level = _objective("on-time", "ratio", "99", {"kind": "flat", "percent": "10"})
    count_level = _objective(
        "errors", "count", "5", {"kind": "linear", "factor": "1.5"}, comparator="lte"
    )
    tickets = _objective(
        "resolution",
        "resolution_time",
        "90",
        {"kind": "linear", "factor": "1.5"},
        threshold=Decimal(240),
        priority="P1",
    )
    measure = TicketMeasure("resolution", Decimal(240), "P1", (_ticket("INC-1", 120, met=True),))
    warnings = [
        project_breach(ratio_level, RatioMeasure(ok=1_150, total=1_200), Fraction(1, 2)).parts,
        project_breach(count_level, CountMeasure(Decimal(4), 4), Fraction(1, 3)).parts,
        too_few_parts(ratio_level, RatioMeasure(ok=3, total=4)),
        project_ticket_breach(
            tickets, measure, reference="INC-9", clock=TicketClock(250 * 60, 0, 250 * 60, True)
        ).parts,
        project_ticket_breach(
            tickets, measure, reference="INC-9", clock=TicketClock(200 * 60, 0, 200 * 60, True)
        ).parts,
    ]
    for parts in warnings:
        with translation.override("en"):
            english = phrases.render(parts)
        with translation.override("de"):
            german = phrases.render(parts)
        assert numbers(german, "de") == numbers(english, "en"), german
        for words in ["so far", "at risk", "projected credit", "ticket", "too few", "against"]:
            assert words not in german, (words, german)


def test_a_calendar_is_described_in_german(personas):
    hours = {day: [("08:00", "12:00"), ("13:00", "17:00")] for day in (0, 1, 2, 4)}
    hours[5] = [("09:00", "13:30")]
    engine_calendar = EngineCalendar("Europe/Berlin", hours, closed_days=[date(2026, 5, 1)])
    holidays = ServiceCalendar(
        provider=personas.provider,
        name="Office hours",
        timezone="Europe/Berlin",
        hours=WEEKDAYS,
        holiday_country="DE",
        holiday_subdivision="BE",
    )
    with translation.override("de"):
        german = describe_calendar(engine_calendar, holidays.holidays_text)
        closed = describe_calendar(engine_calendar)
        always = describe_calendar(None)
    assert german == (
        "während der Servicezeiten Mo–Mi, Fr 08:00–12:00 und 13:00–17:00, Sa 09:00–13:30 "
        "Europe/Berlin, ohne gesetzliche Feiertage in Deutschland (BE)"
    )
    assert closed.endswith("Europe/Berlin, ohne Schließtage") and always == "rund um die Uhr"
    with translation.override("en"):
        assert describe_calendar(engine_calendar, holidays.holidays_text) == (
            "during service hours Mon–Wed, Fri 08:00–12:00 and 13:00–17:00, Sat 09:00–13:30 "
            "Europe/Berlin, public holidays in Germany (BE) excluded"
        )
