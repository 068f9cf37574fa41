"""Figures as text (engine.text) and the same figures on every surface: pages, CSV, PDF."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

import engine
from credits.models import Statement, StatementLine
from engine import text
from tests.credits.test_views_support import LineSpec, make_statement
from tests.factories import ContractFactory, ContractServiceFactory

# --------------------------------------------------------------------------- engine.text


@pytest.mark.parametrize(
    ("amount", "currency", "people", "machines"),
    [
        (Decimal("1234.5"), "EUR", "1,234.50 EUR", "1234.50"),
        (Decimal("1234567.5"), "JPY", "1,234,568 JPY", "1234568"),
        (Decimal("1500"), "JPY", "1,500 JPY", "1500"),
        (Decimal("1.25"), "BHD", "1.250 BHD", "1.250"),
        (Decimal("0.0005"), "BHD", "0.001 BHD", "0.001"),
        (Fraction(1, 3), "EUR", "0.33 EUR", "0.33"),
        (Decimal("-150"), "EUR", "-150.00 EUR", "-150.00"),
        (0, "USD", "0.00 USD", "0.00"),
    ],
)
def test_money_has_the_currencys_minor_unit_for_people_and_machines(
    amount, currency, people, machines
):
    assert text.format_money(amount, currency) == people
    assert text.plain_money(amount, currency) == machines


def test_money_text_is_the_engines_public_format_money():
    assert engine.format_money is text.format_money
    assert engine.format_attainment is text.format_attainment


@pytest.mark.parametrize(
    ("value", "people", "machines"),
    [
        (Decimal("99.5000"), "99.5", "99.5"),
        (Decimal("3.000"), "3", "3"),
        (Decimal("1234.50"), "1,234.5", "1234.5"),
        (Decimal("0E-10"), "0", "0"),
        (Decimal("1E+3"), "1,000", "1000"),
        (7, "7", "7"),
    ],
)
def test_decimals_have_no_exponent_and_no_trailing_zeros(value, people, machines):
    assert text.format_decimal(value) == people
    assert text.plain_decimal(value) == machines


def test_a_missing_decimal_is_an_empty_cell():
    assert text.plain_decimal(None) == ""


def test_a_rule_parameter_keeps_its_digits_in_json():
    assert text.canonical_decimal(Decimal("0.50")) == "0.50"
    assert text.canonical_decimal(Decimal("1E+2")) == "100"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("17.333333"), "17.333 %"),
        (Fraction(52, 3), "17.333 %"),
        (Decimal("2.000000"), "2 %"),
        (Decimal("2.5"), "2.5 %"),
        (Decimal("0.0005"), "0.001 %"),
        (100, "100 %"),
    ],
)
def test_a_percent_is_exact_up_to_three_decimals_else_rounded_half_up(value, expected):
    assert text.format_percent(value) == expected


def test_attainment_has_three_decimals_rounded_half_up():
    assert text.format_attainment(Decimal("99.8845")) == "99.885"
    assert text.format_attainment(Fraction(969, 10)) == "96.900"


def test_a_percentage_attainment_has_its_unit_and_a_count_is_the_number_it_is():
    assert text.format_measured(Decimal("99.8845"), percentage=True) == "99.885 %"
    assert text.format_measured(Decimal("3.0000000000"), percentage=False) == "3"
    assert text.format_measured(Fraction(7, 3), percentage=False) == "2.333"


def test_a_target_in_a_table_has_its_comparator_and_unit():
    assert text.format_target(Decimal("99.5000"), comparator="gte", percentage=True) == "≥ 99.5 %"
    assert text.format_target(Decimal("5.0000"), comparator="lte", percentage=False) == "≤ 5"


@pytest.mark.parametrize(
    ("start", "end", "kind", "label"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), "month", "November 2026"),
        (date(2026, 10, 1), date(2026, 12, 31), "quarter", "Q4 2026"),
        (date(2026, 11, 16), date(2026, 11, 22), "week", "Week 47 2026 (16–22 Nov)"),
        (date(2026, 11, 30), date(2026, 12, 6), "week", "Week 49 2026 (30 Nov – 6 Dec)"),
        (
            date(2026, 12, 28),
            date(2027, 1, 3),
            "week",
            "Week 53 2026 (28 Dec 2026 – 3 Jan 2027)",
        ),
        (
            date(2025, 12, 29),
            date(2026, 1, 4),
            "week",
            "Week 1 2026 (29 Dec 2025 – 4 Jan 2026)",
        ),
        (date(2026, 11, 16), date(2026, 12, 3), None, "16 Nov – 3 Dec 2026"),
        (date(2026, 2, 1), date(2026, 2, 1), None, "1 Feb 2026"),
    ],
)
def test_each_period_has_one_label_read_from_its_dates(start, end, kind, label):
    assert text.period_kind(start, end) == kind
    assert text.period_label(start, end) == label


def test_a_week_inside_one_month_is_never_labelled_by_the_month():
    label = text.period_label(date(2026, 11, 2), date(2026, 11, 8))
    assert label.startswith("Week 45 2026")
    assert "November" not in label


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(9000, "150 min"), (2_592_000, "43,200 min"), (125, "2 min 5 s"), (45, "45 s"), (0, "0 min")],
)
def test_durations_are_written_in_minutes_as_the_explanations_write_them(seconds, expected):
    assert text.format_duration(seconds) == expected


# --------------------------------------------------------------------------- filters


def _render(source: str, **context) -> str:
    return Template("{% load portal_text %}" + source).render(Context(context))


def test_the_template_filters_write_what_engine_text_writes():
    statement = Statement(period_start=date(2026, 11, 16), period_end=date(2026, 11, 22))
    line = StatementLine(target=Decimal("99.5000"), comparator="gte", indicator="ratio")
    assert _render("{{ a|money:'JPY' }}", a=Decimal("1500.00")) == "1,500 JPY"
    assert _render("{{ a|money:'BHD' }}", a=Decimal("1.25")) == "1.250 BHD"
    assert _render("{{ p|percent }}", p=Decimal("17.333333")) == "17.333 %"
    assert _render("{{ v|decimal }}", v=Decimal("99.5000")) == "99.5"
    assert _render("{{ v|attainment:'count' }}", v=Decimal("3.0000000000")) == "3"
    assert _render("{{ v|attainment:'ratio' }}", v=Decimal("99.8845")) == "99.885 %"
    assert _render("{{ line|target }}", line=line) == "≥ 99.5 %"
    assert _render("{{ s|period }}", s=statement) == "Week 47 2026 (16–22 Nov)"
    assert _render("{{ d|period:'week' }}", d=date(2026, 11, 18)) == "Week 47 2026 (16–22 Nov)"
    assert _render("{{ s|duration }}", s=9000) == "150 min"
    assert _render("[{{ a|money:'EUR' }}{{ p|percent }}]", a=None, p=None) == "[]"


# --------------------------------------------------------------------------- surfaces


def _csv_rows(response) -> list[dict[str, str]]:
    """The rows of the statement's lines (not the cap adjustment and total below them)."""
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return [row for row in csv.DictReader(io.StringIO(content.decode())) if row["line_id"]]


def _pdf_text(response) -> str:
    pages = PdfReader(io.BytesIO(response.content)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def _contract(personas, currency: str, fee: Decimal, **fields):
    contract = ContractFactory(
        provider=personas.provider,
        customer=personas.customer,
        reference=f"ACME-{currency}",
        currency=currency,
        **fields,
    )
    return contract, ContractServiceFactory(contract=contract, fee=fee)


def _issue(contract, cs, start: date, end: date, **line) -> Statement:
    """One issued statement of one line (rows are immutable once written: built whole)."""
    fields = {
        "key": "errors",
        "name": "Errors",
        "source_level": "contract",
        "indicator": "ratio",
        "comparator": "gte",
        "target": Decimal("99.5"),
        "credit_rule": {"kind": "flat", "percent": "0"},
        "measure": {},
        "attainment": Decimal("99.9"),
        "met": True,
        "fee": cs.fee,
        "credit_percent": Decimal("0"),
        "amount": Decimal("0"),
        "explanation": "Explained.",
        **line,
    }
    statement = Statement.objects.create(
        contract=contract,
        period_start=start,
        period_end=end,
        revision=1,
        currency=contract.currency,
        fees_total=cs.fee,
        credit_total=fields["amount"],
        cap_adjustment=Decimal("0"),
        fingerprint=f"{contract.pk}-{start}",
        issued_at=timezone.now(),
    )
    StatementLine.objects.create(statement=statement, contract_service=cs, **fields)
    return statement


@pytest.mark.django_db
def test_a_yen_contract_shows_no_decimals_on_any_surface(client, personas):
    contract, cs = _contract(personas, "JPY", Decimal("150000"))
    statement = make_statement(
        contract,
        period_start=date(2026, 3, 1),
        lines=[LineSpec(cs, Decimal("1500"), attainment=Decimal("99.2"), fee=Decimal("150000"))],
    )

    client.force_login(personas.provider_viewer)
    provider_page = client.get(reverse("contract-detail", args=[contract.pk])).content.decode()
    assert "150,000 JPY" in provider_page
    assert "1,500 JPY" in provider_page  # the statement's credits
    assert "150,000.00" not in provider_page and "1,500.00" not in provider_page

    client.force_login(personas.customer_member)
    page = client.get(reverse("statement-detail", args=[statement.pk])).content.decode()
    assert 'class="num amount">1,500 JPY<' in page
    assert "150,000 JPY" in page
    assert ".00 JPY" not in page

    [row] = _csv_rows(client.get(reverse("statement-csv", args=[statement.pk])))
    assert (row["fee"], row["amount"]) == ("150000", "1500")
    assert row["credit_percent"] == "1"

    pdf = _pdf_text(client.get(reverse("statement-pdf", args=[statement.pk])))
    assert "Credit total 1,500 JPY" in pdf
    assert ".00 JPY" not in pdf


@pytest.mark.django_db
def test_a_bahraini_dinar_contract_shows_three_decimals_on_every_surface(client, personas):
    contract, cs = _contract(personas, "BHD", Decimal("1000.5"))
    statement = make_statement(
        contract,
        period_start=date(2026, 3, 1),
        lines=[LineSpec(cs, Decimal("12.345"), fee=Decimal("1000.5"))],
    )

    client.force_login(personas.provider_viewer)
    provider_page = client.get(reverse("contract-detail", args=[contract.pk])).content.decode()
    assert "1,000.500 BHD" in provider_page

    page = client.get(reverse("statement-detail", args=[statement.pk])).content.decode()
    assert 'class="num amount">12.345 BHD<' in page
    assert 'class="num credit-total">12.345 BHD<' in page

    [row] = _csv_rows(client.get(reverse("statement-csv", args=[statement.pk])))
    assert (row["fee"], row["amount"]) == ("1000.500", "12.345")


@pytest.mark.django_db
def test_a_credit_percent_and_a_count_read_as_people_write_them(client, personas):
    cs = personas.contract.services.get()
    # 52/3 % of the fee, stored to 6 places; the line measures a count of errors.
    statement = _issue(
        personas.contract,
        cs,
        date(2026, 3, 1),
        date(2026, 3, 31),
        credit_percent=Decimal("17.333333"),
        amount=Decimal("173.33"),
        indicator="count",
        comparator="lte",
        attainment=Decimal("3.0000000000"),
        target=Decimal("1.0000"),
        met=False,
    )

    client.force_login(personas.customer_member)
    page = client.get(reverse("statement-detail", args=[statement.pk])).content.decode()
    assert '<td class="num">17.333 %</td>' in page
    assert "17.333333" not in page
    assert '<td class="num attainment">3</td>' in page
    assert '<td class="num">≤ 1</td>' in page

    [row] = _csv_rows(client.get(reverse("statement-csv", args=[statement.pk])))
    assert row["credit_percent"] == "17.333333"  # machines get the stored value


@pytest.mark.django_db
def test_a_weekly_period_reads_the_same_on_the_page_the_csv_and_the_pdf(client, personas):
    contract, cs = _contract(personas, "EUR", Decimal("250.00"), settlement_period="week")
    statement = _issue(contract, cs, date(2026, 11, 16), date(2026, 11, 22))
    label = "Week 47 2026 (16–22 Nov)"

    client.force_login(personas.customer_member)
    page = client.get(reverse("statement-detail", args=[statement.pk])).content.decode()
    assert f"<h1>Statement ACME-EUR · {label}</h1>" in page
    assert f"16 November 2026 to 22 November 2026 ({label}, UTC)" in page
    assert ">Nov 2026<" not in page and ">November 2026<" not in page

    listing = client.get(reverse("statement-list")).content.decode()
    assert label in listing

    [row] = _csv_rows(client.get(reverse("statement-csv", args=[statement.pk])))
    assert (row["period_start"], row["period_end"], row["period"]) == (
        "2026-11-16",
        "2026-11-22",
        label,
    )
    export = _csv_rows(client.get(reverse("statement-export")))
    assert [r["period"] for r in export if r["contract"] == "ACME-EUR"] == [label]

    pdf = _pdf_text(client.get(reverse("statement-pdf", args=[statement.pk])))
    assert label in pdf

    client.force_login(personas.provider_viewer)
    provider_page = client.get(reverse("contract-detail", args=[contract.pk])).content.decode()
    assert label in provider_page
