"""The credits pages through the test client: dashboard, statements, objectives,
responsibilities and scoping. Disputes, notifications and downloads have their own files."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from contracts.models import Measurement
from credits.models import OpenPeriodProgress
from credits.settlement import warn_early
from tests.credits.test_views_support import (
    LineSpec,
    availability_objective,
    make_statement,
)
from tests.factories import (
    ContractFactory,
    ContractServiceFactory,
    ResponsibilityFactory,
    ResponsibilityLapseFactory,
)

NOW = datetime(2026, 4, 15, 12, 0, tzinfo=UTC)
# Every page is read at one fixed moment, so "this month" and "last month" hold still.
pytestmark = [pytest.mark.django_db, pytest.mark.time_machine(NOW, tick=False)]


@pytest.fixture
def book(personas):
    """Globex's ACME-1: Jan 20.00, Feb 0.00, Mar r1 50.00 superseded by r2 30.00 (2026).
    Initech's UMB-1 has 777.77 and Globex's draft ACME-DRAFT 555.55: never Globex's."""
    level = availability_objective(personas)
    cs = personas.contract.services.get()
    jan = make_statement(
        personas.contract,
        period_start=date(2026, 1, 1),
        lines=[LineSpec(cs, Decimal("20.00"), attainment=Decimal("98.7654321"))],
    )
    feb = make_statement(
        personas.contract, period_start=date(2026, 2, 1), lines=[LineSpec(cs, Decimal("0.00"))]
    )
    mar1 = make_statement(
        personas.contract,
        period_start=date(2026, 3, 1),
        lines=[LineSpec(cs, Decimal("50.00"), attainment=Decimal("97.25"))],
    )
    mar2 = make_statement(
        personas.contract,
        period_start=date(2026, 3, 1),
        revision=2,
        lines=[LineSpec(cs, Decimal("30.00"), attainment=Decimal("98.5"))],
    )
    other = make_statement(
        personas.other_contract,
        period_start=date(2026, 3, 1),
        lines=[LineSpec(personas.other_contract.services.get(), Decimal("777.77"))],
    )
    draft_cs = ContractServiceFactory(contract=personas.draft_contract)
    draft = make_statement(
        personas.draft_contract,
        period_start=date(2026, 3, 1),
        lines=[LineSpec(draft_cs, Decimal("555.55"))],
    )
    return {
        "cs": cs,
        "level": level,
        "jan": jan,
        "feb": feb,
        "mar1": mar1,
        "mar2": mar2,
        "other": other,
        "draft": draft,
    }


def _count_queries(client, url: str) -> int:
    return len(_get_counting(client, url)[1])


def _get_counting(client, url: str):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return response, ctx.captured_queries


# --------------------------------------------------------------------------- dashboard


def test_customer_dashboard_shows_year_to_date_from_the_latest_revisions_only(
    client, personas, book
):
    client.force_login(personas.customer_member)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    html = response.content.decode()
    # 20.00 + 0.00 + 30.00 (revision 2 replaces the 50.00 of revision 1).
    ytd = re.search(r'class="figure ytd" data-currency="EUR">.*?class="value">([^<]+)<', html)
    assert ytd is not None
    assert ytd.group(1) == "50.00 EUR"
    per_contract = re.search(r'<tr data-contract="ACME-1">(.*?)</tr>', html, re.S).group(1)
    assert "50.00 EUR" in per_contract


def test_customer_dashboard_never_shows_drafts_or_other_customers(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("dashboard")).content.decode()
    assert "ACME-DRAFT" not in html
    assert "UMB-1" not in html
    assert "555.55" not in html
    assert "777.77" not in html
    assert "Initech" not in html


def test_dashboard_chart_has_one_bar_per_month_with_the_month_credit(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("dashboard")).content.decode()
    bars = re.findall(
        r'<rect class="bar[^"]*"[^>]*data-period="([\d-]+)" data-value="([\d.]+)"', html
    )
    # January to April 2026 (this month, no statement yet, is a zero bar).
    assert bars == [
        ("2026-01-01", "20"),
        ("2026-02-01", "0"),
        ("2026-03-01", "30"),
        ("2026-04-01", "0"),
    ]
    assert 'aria-label="March 2026: 30.00 EUR"' in html
    assert "<title>March 2026: 30.00 EUR</title>" in html


def test_dashboard_shows_an_objective_at_risk_before_the_breach(client, personas, book):
    # Availability, at least 99.5 % (ratio): at risk in April, the open month.
    _progress(
        book["cs"],
        book["level"],
        OpenPeriodProgress.State.AT_RISK,
        attainment=Decimal("99.2"),
        explanation="Availability: at risk, at the current rate the period ends at 99.2 %.",
    )
    client.force_login(personas.customer_member)
    html = client.get(reverse("dashboard")).content.decode()
    row = re.search(r'<tr data-state="at_risk"[^>]*>(.*?)</tr>', html, re.S)
    assert row is not None
    assert '<span class="badge at_risk">at risk</span>' in row.group(1)
    assert "99.200 %" in row.group(1)
    assert ">= 99.5" not in row.group(1)  # the comparator is written in words
    assert "at least 99.5 %" in row.group(1)
    assert "at the current rate the period ends at 99.2 %" in row.group(1)


def test_dashboard_progress_of_an_earlier_period_is_not_shown_as_this_ones(client, personas, book):
    _progress(
        book["cs"],
        book["level"],
        OpenPeriodProgress.State.BREACHED,
        month=3,
        attainment=Decimal("12.5"),
    )
    client.force_login(personas.customer_member)
    html = client.get(reverse("dashboard")).content.decode()
    row = re.search(r'<tr data-state="no_data"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert "no data yet" in row
    assert "12.500" not in html


def test_dashboard_objective_not_measured_yet_shows_its_last_settled_result(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("dashboard")).content.decode()
    row = re.search(r'<tr data-state="no_data"[^>]*>(.*?)</tr>', html, re.S).group(1)
    assert '<span class="badge no_data">no data yet</span>' in row
    assert reverse("objective-detail", args=[book["cs"].pk, "availability"]) in row
    assert f"/statements/{book['mar2'].pk}/#line-" in row  # the latest revision's line


def test_provider_dashboard_covers_its_customers_contracts(client, personas, book):
    client.force_login(personas.provider_viewer)
    html = client.get(reverse("dashboard")).content.decode()
    assert "Dashboard · Acme Networks" in html
    assert 'data-contract="ACME-1"' in html
    assert "777.77" not in html  # another provider's contract


def test_another_customer_cannot_open_globex_dashboard(client, personas, book):
    client.force_login(personas.other_customer_member)
    response = client.get(reverse("dashboard"), {"organization": "globex"})
    assert response.status_code == 404


def _add_months(personas, cs, start_year: int, count: int) -> None:
    for index in range(count):
        year, month = divmod(index, 12)
        make_statement(
            personas.contract,
            period_start=date(start_year - 1 - year, month + 1, 1),
            lines=[LineSpec(cs, Decimal("1.00"))],
        )


def _progress(
    cs,
    level,
    state: str = OpenPeriodProgress.State.ON_TRACK,
    *,
    month: int = 4,
    attainment: Decimal = Decimal("99.9"),
    **fields,
) -> None:
    """The progress of `level` in a 2026 month (April, the open one, unless said)."""
    OpenPeriodProgress.objects.create(
        contract_service=cs,
        key=level.key,
        period_start=date(2026, month, 1),
        period_end=date(2026, month, calendar.monthrange(2026, month)[1]),
        service_level=level,
        indicator=level.indicator,
        comparator=level.comparator,
        target=level.target,
        attainment=attainment,
        state=state,
        measured_at=NOW,
        **fields,
    )


def test_dashboard_query_count_does_not_grow_with_statements_or_contracts(client, personas, book):
    _progress(book["cs"], book["level"])
    client.force_login(personas.customer_member)
    few = _count_queries(client, reverse("dashboard"))
    _add_months(personas, book["cs"], 2026, 36)
    more_contracts = [
        ContractFactory(provider=personas.provider, customer=personas.customer) for _ in range(3)
    ]
    for contract in more_contracts:
        cs = ContractServiceFactory(contract=contract)
        _progress(cs, book["level"], OpenPeriodProgress.State.BREACHED)
    response, queries = _get_counting(client, reverse("dashboard"))
    assert response.content.decode().count('<tr data-state="breached"') == 3
    assert len(queries) == few
    # Session, user, memberships (organisations and navigation), the cache stamp,
    # contracts, two aggregates, four for the open period (services, objectives, progress,
    # last lines), notifications, lapses; the unread count comes with the stamp.
    assert few == 13
    # Nothing changed since: the content comes from the cache; only the stamp is read.
    cached, queries = _get_counting(client, reverse("dashboard"))
    assert len(queries) == 4
    # The same page (but for the logout form's token, masked anew on every render).
    token = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]+"')
    assert token.sub(b"", cached.content) == token.sub(b"", response.content)


# --------------------------------------------------------------------------- statements


def test_statement_list_shows_the_customer_statements_and_marks_superseded(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-list")).content.decode()
    listed = set(map(int, re.findall(r'<tr data-statement="(\d+)"', html)))
    assert listed == {book[k].pk for k in ("jan", "feb", "mar1", "mar2")}
    superseded = re.findall(r'<tr data-statement="(\d+)" class="superseded"', html)
    assert superseded == [str(book["mar1"].pk)]
    assert "777.77" not in html
    assert "555.55" not in html


def test_statement_list_can_hide_superseded_revisions(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-list"), {"latest_only": "on"}).content.decode()
    listed = set(map(int, re.findall(r'<tr data-statement="(\d+)"', html)))
    assert listed == {book[k].pk for k in ("jan", "feb", "mar2")}


def test_statement_list_filters_by_contract_and_period(client, personas, book):
    client.force_login(personas.provider_editor)
    html = client.get(
        reverse("statement-list"),
        {"contract": personas.contract.pk, "period_from": "2026-02-01", "period_to": "2026-02-28"},
    ).content.decode()
    assert re.findall(r'<tr data-statement="(\d+)"', html) == [str(book["feb"].pk)]


def test_filtering_by_another_customers_contract_is_refused_beside_the_field(
    client, personas, book
):
    client.force_login(personas.customer_member)
    response = client.get(reverse("statement-list"), {"contract": personas.other_contract.pk})
    html = response.content.decode()
    assert "Select a valid choice" in html
    assert "data-statement=" not in html
    assert "777.77" not in html


def test_statement_list_query_count_does_not_grow_with_statements(client, personas, book):
    client.force_login(personas.customer_member)
    few = _count_queries(client, reverse("statement-list"))
    _add_months(personas, book["cs"], 2026, 40)
    many = _count_queries(client, reverse("statement-list"))
    assert many == few
    # Session, user, memberships, unread badge, the filter's contracts, the count, the page,
    # the totals of every page.
    assert few <= 8


def test_statement_detail_shows_every_figure_of_a_line(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-detail", args=[book["jan"].pk])).content.decode()
    line = book["jan"].lines.get()
    body = re.search(rf'<tbody class="line" id="line-{line.pk}"(.*?)</tbody>', html, re.S).group(1)
    assert "98.765 %" in body  # attainment, 3 decimals
    assert "≥ 99.5 %" in body  # target
    assert (
        "Below the target the customer is credited 1 % of that month&#x27;s fee for every "
        "started step of 0.5 points." in body
    )
    assert "20.00 EUR" in body
    assert "Explained: 20.00 EUR credited." in body
    assert 'class="num credit-total">20.00 EUR<' in html
    assert 'class="num cap-adjustment">0.00 EUR<' in html
    assert "Acme Networks" in html and "Globex" in html


def test_superseded_revision_says_so_and_links_to_the_latest(client, personas, book):
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-detail", args=[book["mar1"].pk])).content.decode()
    assert "A later revision of this period exists" in html
    assert f'<a href="/statements/{book["mar2"].pk}/">Read revision 2</a>' in html
    latest = client.get(reverse("statement-detail", args=[book["mar2"].pk])).content.decode()
    assert "A later revision of this period exists" not in latest
    assert f'<a href="/statements/{book["mar1"].pk}/">Revision 1</a>' in latest


def test_statement_with_a_cap_shows_the_adjustment_and_the_capped_total(client, personas):
    availability_objective(personas)
    cs = personas.contract.services.get()
    second = ContractServiceFactory(contract=personas.contract)
    capped = make_statement(
        personas.contract,
        period_start=date(2026, 3, 1),
        lines=[LineSpec(cs, Decimal("300.00")), LineSpec(second, Decimal("150.00"))],
        cap_adjustment=Decimal("-150.00"),
        at_risk_amount=Decimal("300.00"),
    )
    client.force_login(personas.customer_member)
    html = client.get(reverse("statement-detail", args=[capped.pk])).content.decode()
    assert 'class="num cap-adjustment">-150.00 EUR<' in html
    assert 'class="num credit-total">300.00 EUR<' in html
    assert "450.00 EUR" in html  # the sum of the lines, before the cap


# --------------------------------------------------------------------------- objectives


def test_objective_page_charts_the_latest_revision_of_each_settled_period(client, personas, book):
    client.force_login(personas.customer_member)
    url = reverse("objective-detail", args=[book["cs"].pk, "availability"])
    html = client.get(url).content.decode()
    points = re.findall(
        r'<circle class="point[^"]*"[^>]*data-period="([\d-]+)" data-value="([\d.]+)"', html
    )
    assert points == [("2026-01-01", "98.765"), ("2026-02-01", "99.900"), ("2026-03-01", "98.500")]
    bars = re.findall(
        r'<rect class="bar[^"]*"[^>]*data-period="([\d-]+)" data-value="([\d.]+)"', html
    )
    assert bars == [("2026-01-01", "20"), ("2026-02-01", "0"), ("2026-03-01", "30")]
    assert '<line class="target"' in html
    assert '<table id="history-table"' in html


def test_objective_page_shows_the_open_periods_attainment_so_far(client, personas, book):
    for minute in range(10):
        Measurement.objects.create(
            contract_service=book["cs"],
            key="availability",
            observed_at=datetime(2026, 4, 2, 9, minute, tzinfo=UTC),
            ok=minute < 8,
        )
    client.force_login(personas.customer_member)
    url = reverse("objective-detail", args=[book["cs"].pk, "availability"])
    # Not measured yet: the page says so, as the dashboard does, rather than a figure of
    # its own.
    assert "Not measured yet this period." in client.get(url).content.decode()
    warn_early(contract=book["cs"].contract)
    html = client.get(url).content.decode()
    assert '<strong id="open-attainment">80.000 %</strong>' in html
    assert "April 2026" in html


def test_objective_page_of_an_unknown_key_is_404(client, personas, book):
    client.force_login(personas.customer_member)
    url = reverse("objective-detail", args=[book["cs"].pk, "no-such-key"])
    assert client.get(url).status_code == 404


# --------------------------------------------------------------------------- responsibilities


def test_customer_sees_their_responsibilities_and_lapses_only(client, personas):
    mine = ResponsibilityFactory(contract=personas.contract, title="Name a representative")
    ResponsibilityLapseFactory(
        responsibility=mine,
        start=datetime(2026, 3, 2, 8, tzinfo=UTC),
        end=datetime(2026, 3, 2, 12, tzinfo=UTC),
        note="Nobody answered the phone",
    )
    ResponsibilityFactory(contract=personas.other_contract, title="Initech keeps backups")
    ResponsibilityFactory(contract=personas.draft_contract, title="Draft obligation")
    client.force_login(personas.customer_member)
    html = client.get(reverse("responsibility-list")).content.decode()
    assert "Name a representative" in html
    assert "Nobody answered the phone" in html
    assert "Initech keeps backups" not in html
    assert "Draft obligation" not in html


# --------------------------------------------------------------------------- scoping


def _pages(book) -> list[str]:
    return [
        reverse("statement-detail", args=[book["jan"].pk]),
        reverse("statement-csv", args=[book["jan"].pk]),
        reverse("statement-pdf", args=[book["jan"].pk]),
        reverse("objective-detail", args=[book["cs"].pk, "availability"]),
    ]


def test_another_customers_member_gets_404_on_every_statement_page_and_download(
    client, personas, book
):
    client.force_login(personas.other_customer_member)
    for url in _pages(book):
        assert client.get(url).status_code == 404, url


def test_customer_gets_404_on_a_draft_contracts_statement(client, personas, book):
    client.force_login(personas.customer_member)
    for name in ("statement-detail", "statement-csv", "statement-pdf"):
        assert client.get(reverse(name, args=[book["draft"].pk])).status_code == 404


def test_anonymous_is_sent_to_the_login_page_from_every_page(client, personas, book):
    urls = [
        *_pages(book),
        reverse("dashboard"),
        reverse("statement-list"),
        reverse("statement-export"),
        reverse("dispute-list"),
        reverse("responsibility-list"),
        reverse("notification-inbox"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/accounts/login/"), url
    line = book["jan"].lines.get()
    for url in (
        reverse("dispute-open", args=[line.pk]),
        reverse("notification-read-all"),
    ):
        response = client.post(url, {"reason": "x"})
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_another_customers_lists_and_dashboard_hold_nothing_of_globex(client, personas, book):
    ResponsibilityFactory(contract=personas.contract, title="Globex names a representative")
    client.force_login(personas.other_customer_member)
    statements = client.get(reverse("statement-list")).content.decode()
    assert re.findall(r'<tr data-statement="(\d+)"', statements) == [str(book["other"].pk)]
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "ACME-1" not in dashboard
    assert "Globex" not in dashboard
    assert 'data-currency="EUR">' in dashboard and "777.77 EUR" in dashboard
    responsibilities = client.get(reverse("responsibility-list")).content.decode()
    assert "Globex names a representative" not in responsibilities
    assert "ACME-1" not in client.get(reverse("dispute-list")).content.decode()
