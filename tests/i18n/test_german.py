"""German as the portal's second language: the same figures as in English on every surface
(a statement's page, its PDF, an e-mail, every rule kind's sentence), German words, German
number and date formats, chosen per person and by the browser; machines' formats unchanged.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import translation
from pypdf import PdfReader

from contracts.models import ServiceLevel
from credits import notify
from credits.models import Delivery
from engine import text
from people.models import Profile
from tests.contracts.test_sentences import CASES
from tests.credits.test_views_support import LineSpec, make_statement
from tests.factories import ContractServiceFactory

# A figure as each language writes it: English 1,234.56, German 1.234,56. A group is only
# a group when three digits follow it, so "02.12.2026" reads as 02, 12 and 2026.
_ENGLISH_NUMBER = re.compile(r"\d+(?:,\d{3}(?!\d))*(?:\.\d+)?")
_GERMAN_NUMBER = re.compile(r"\d+(?:\.\d{3}(?!\d))*(?:,\d+)?")


def numbers(content: str, language: str) -> list[Decimal]:
    """Every figure of ``content``, normalised (German ``1.234,56`` → ``1234.56``), sorted:
    German word order may put them elsewhere in a sentence. Links are no figures."""
    content = re.sub(r"https?://\S+", " ", content)
    if language == "de":
        found = [n.replace(".", "").replace(",", ".") for n in _GERMAN_NUMBER.findall(content)]
    else:
        found = [n.replace(",", "") for n in _ENGLISH_NUMBER.findall(content)]
    return sorted(Decimal(n) for n in found)


def visible_text(html: str) -> str:
    """What a reader sees: no scripts, styles, tags or attributes (ids, URLs, tokens)."""
    html = re.sub(r"(?is)<(script|style)\b.*?</\1>", " ", html)
    return " ".join(re.sub(r"(?s)<[^>]+>", " ", html).split())


def without(content: str, texts) -> str:
    """``content`` without ``texts``: the explanation of a line issued before explanations
    kept their parts (as ``make_statement`` writes them) reads as issued, in the site's
    language, also in German (test_german_explanations.py: lines issued since read German)."""
    for each in texts:
        content = content.replace(each, " ")
    return content


def assert_german(content: str, *, present: list[str], absent: list[str]) -> None:
    for word in present:
        assert word in content, word
    for word in absent:
        assert word not in content, word


# --------------------------------------------------------------------------- engine.text


def test_figures_days_and_periods_are_written_the_german_way():
    amount, percent = Decimal("1234.56"), Decimal("99.4444")
    with translation.override("de"):
        assert text.format_money(amount, "EUR") == "1.234,56 EUR"
        assert text.format_money(Decimal("1234567.5"), "JPY") == "1.234.568 JPY"
        assert text.format_percent(percent) == "99,444 %"
        assert text.format_decimal(Decimal("1234.5")) == "1.234,5"
        assert text.format_measured(Decimal("99.8845"), percentage=True) == "99,885 %"
        assert text.format_duration(43200 * 60 + 5) == "43.200 min 5 s"
        assert text.period_label(date(2026, 12, 1), date(2026, 12, 31)) == "Dezember 2026"
        assert text.period_label(date(2026, 11, 16), date(2026, 11, 22)) == (
            "KW 47 2026 (16.–22. Nov.)"
        )
        assert text.date_range(date(2026, 11, 30), date(2026, 12, 6)) == "30. Nov. – 6. Dez. 2026"
        moment = datetime(2026, 12, 2, 4, 25, tzinfo=UTC)
        assert text.local_moment(moment, "UTC") == "02.12.2026 04:25 UTC"
        # Machines read the same in every language.
        assert text.plain_money(amount, "EUR") == "1234.56"
        assert text.plain_decimal(percent) == "99.4444"
        assert text.format_attainment(Decimal("99.8845")) == "99.885"
    with translation.override("en"):
        assert text.format_money(amount, "EUR") == "1,234.56 EUR"
        assert text.period_label(date(2026, 11, 16), date(2026, 11, 22)) == (
            "Week 47 2026 (16–22 Nov)"
        )
        assert text.local_moment(moment, "UTC") == "2026-12-02 04:25 UTC"


# --------------------------------------------------------------------------- sentences

_EXTRA = [
    # Earn-back and chronic failure, said after the rule.
    (
        "month",
        {
            "indicator": "uptime",
            "key": "availability",
            "name": "Availability",
            "target": "99.95",
            "chronic_breaches": 3,
            "chronic_window": 6,
        },
        {
            "kind": "per_step",
            "step": "0.1",
            "percent": "2.5",
            "max_percent": "12.5",
            "earn_back_periods": 2,
        },
    ),
    (
        "quarter",
        {"indicator": "uptime", "key": "uptime", "name": "Uptime", "target": "99"},
        {"kind": "tiered", "tiers": [{"bound": "99", "percent": "5"}], "earn_back_periods": 1},
    ),
    (
        "week",
        {
            "indicator": "count",
            "key": "errors",
            "name": "Errors",
            "target": "5",
            "comparator": "lte",
        },
        {"kind": "linear", "factor": "1.5"},
    ),
]


def _sentence(period, fields, rule, language):
    fields = dict(fields)
    objective = ServiceLevel(
        level="corporate",
        comparator=fields.pop("comparator", "gte"),
        credit_rule=rule,
        **{k: Decimal(v) if k in {"target", "threshold"} else v for k, v in fields.items()},
    )
    with translation.override(language):
        return objective.describe(service_name="Internet 1G", period_name=period)


@pytest.mark.parametrize(
    ("period", "fields", "rule"),
    [case[:3] for case in CASES] + _EXTRA,
    ids=lambda value: value["kind"] if isinstance(value, dict) and "kind" in value else None,
)
def test_every_rule_kinds_sentence_says_the_same_figures_in_german(period, fields, rule):
    english = _sentence(period, fields, rule, "en")
    german = _sentence(period, fields, rule, "de")
    assert numbers(german, "de") == numbers(english, "en")
    assert german != english
    assert_german(
        german,
        present=["Kunde" if rule else "keine Gutschrift"],
        absent=["customer", "credited", "each", " of "],
    )


def test_earn_back_and_chronic_failure_are_said_in_german():
    period, fields, rule = _EXTRA[0]
    german = _sentence(period, fields, rule, "de")
    assert "einbehalten" in german and "2 Monate lang" in german
    assert "bei 3 Verfehlungen innerhalb von 6 aufeinanderfolgenden Monaten" in german
    assert "höchstens 12,5 %" in german


# --------------------------------------------------------------------------- surfaces


@pytest.fixture
def statement(personas):
    contract = personas.contract
    cs = ContractServiceFactory(contract=contract, fee=Decimal("12345.67"))
    return make_statement(
        contract,
        period_start=date(2026, 3, 1),
        lines=[
            LineSpec(cs, Decimal("1234.57"), attainment=Decimal("99.1234"), fee=cs.fee),
            LineSpec(contract.services.first(), Decimal("0"), key="latency", name="Latency"),
        ],
        cap_adjustment=Decimal("-34.57"),
    )


def _read(client, user, url, language):
    Profile.objects.update_or_create(user=user, defaults={"language": language})
    client.force_login(user)  # the session keeps the person's language at login
    return client.get(url)


@pytest.mark.django_db
@time_machine.travel(datetime(2026, 4, 2, 9, 30, tzinfo=UTC), tick=False)
def test_a_statement_page_and_its_pdf_say_the_same_figures_in_german(client, personas, statement):
    user = personas.customer_member
    page_url = reverse("statement-detail", args=[statement.pk])
    pdf_url = reverse("statement-pdf", args=[statement.pk])

    explanations = [line.explanation for line in statement.lines.all()]
    assert explanations and all(explanations)

    def page_text(language):
        html = _read(client, user, page_url, language).content.decode()
        return without(visible_text(html).replace("&#x27;", "'"), explanations)

    english, german = page_text("en"), page_text("de")
    assert numbers(german, "de") == numbers(english, "en")
    assert "1.234,57 EUR" in german and "1,234.57 EUR" in english
    assert_german(
        german,
        present=["Abrechnung", "Gutschrift gesamt", "Entgelte des Zeitraums", "Positionen"],
        absent=["Credit total", "Fees of the period", "Download PDF", "no data"],
    )

    def pdf_text(language):
        response = _read(client, user, pdf_url, language)
        pages = PdfReader(io.BytesIO(response.content)).pages
        return without(
            " ".join(" ".join(page.extract_text() for page in pages).split()), explanations
        )

    english_pdf, german_pdf = pdf_text("en"), pdf_text("de")
    assert numbers(german_pdf, "de") == numbers(english_pdf, "en")
    assert_german(
        german_pdf,
        present=["Gutschriftsabrechnung", "Gutschrift gesamt", "Seite 1 von 1"],
        absent=["Service credit statement", "Credit total", "Page 1 of"],
    )


def issued_emails(personas, statement) -> tuple[dict, dict]:
    """The e-mail of the statement's issue to a provider member who reads German and to one
    who reads English: their payloads (subject, text, html)."""
    german_reader, english_reader = personas.provider_viewer, personas.provider_editor
    Profile.objects.create(user=german_reader, language="de")
    Profile.objects.create(user=english_reader, language="en")

    notify.statement_issued(statement_id=statement.pk)

    def email_to(user):
        return Delivery.objects.get(recipient=user.email, channel=Delivery.Channel.EMAIL).email

    return email_to(german_reader), email_to(english_reader)


@pytest.mark.django_db
def test_an_email_is_in_each_recipients_language_with_the_same_figures(personas, statement):
    german, english = issued_emails(personas, statement)
    explanations = [line.explanation for line in statement.lines.all()]
    for part in ("subject", "text"):
        german_part, english_part = (without(e[part], explanations) for e in (german, english))
        assert numbers(german_part, "de") == numbers(english_part, "en"), part
    german_html, english_html = (
        without(visible_text(e["html"]), explanations) for e in (german, english)
    )
    assert numbers(german_html, "de") == numbers(english_html, "en")
    assert_german(
        german["text"],
        present=["Gutschrift", "Abrechnung", "Im Portal ansehen"],
        absent=["service credit", "See it in the portal", "Total service credit"],
    )
    assert "Total service credit" in english["text"]
    assert '<html lang="de">' in german["html"]
    # The in-app notification is the reader's too.
    german_reader, english_reader = personas.provider_viewer, personas.provider_editor
    assert german_reader.notifications.get().title.startswith("Abrechnung ACME-1")
    assert english_reader.notifications.get().title.startswith("Statement ACME-1")


# --------------------------------------------------------------------------- choosing


@pytest.mark.django_db
def test_the_browser_asks_for_german_and_a_persons_own_choice_wins(client, personas, statement):
    url = reverse("statement-detail", args=[statement.pk])
    user = personas.customer_member
    client.force_login(user)
    asked = client.get(url, HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    assert asked["Content-Language"] == "de"
    assert "Gutschrift gesamt" in asked.content.decode()
    assert "Credit total" in client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # Browsing kept the browser's language on a profile (people.preferences); the choice
    # joins it.
    Profile.objects.update_or_create(user=user, defaults={"language": "en"})
    client.force_login(user)
    chosen = client.get(url, HTTP_ACCEPT_LANGUAGE="de")
    assert chosen["Content-Language"] == "en"
    assert "Credit total" in chosen.content.decode()
    assert "Gutschrift gesamt" not in chosen.content.decode()


@pytest.mark.django_db
def test_csv_is_the_same_in_every_language(client, personas, statement):
    url = reverse("statement-csv", args=[statement.pk])

    def rows(language):
        response = _read(client, personas.customer_member, url, language)
        return list(csv.reader(io.StringIO(response.content.decode())))

    german = rows("de")
    assert german == rows("en")
    amounts = [row[german[0].index("amount")] for row in german[1:]]
    assert "1234.57" in amounts and "-34.57" in amounts
