"""What each event says: its id, its title and body for people, its data for webhooks.

One builder per event (a statement issued, objectives without data, an early warning, a
dispute opened or resolved, a lapse recorded) turns database rows into a :class:`Notice`,
which :mod:`credits.notify.publish` writes out. Nothing here writes.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext, ngettext

from contracts.models import Contract, Organization, ResponsibilityLapse
from contracts.templatetags import portal_text
from credits.models import (
    ChronicFailure,
    Claim,
    Dispute,
    EarlyWarning,
    Notification,
    Statement,
    StatementLine,
)
from engine.text import (
    date_range,
    format_instant,
    format_money,
    local_span,
    period_kind,
    period_label,
    plain_decimal,
    plain_money,
)
from people.models import Invitation
from people.topics import TOPICS

# Event ids are uuid5 in this namespace: the same event always has the same id, so a
# receiver can deduplicate and so can our unique constraints.
EVENT_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sla-portal/events")

Event = Notification.Event


# The topic each event belongs to, for the people who choose what they hear of
# (people.topics). An event left out (a digest, a webhook test) reaches everyone concerned
# whatever they chose: it is not news of its own.
TOPIC_OF_EVENT: dict[str, str] = {
    Event.STATEMENT_ISSUED: "statement",
    Event.NO_DATA: "statement",
    Event.DISPUTE_OPENED: "dispute",
    Event.DISPUTE_RESOLVED: "dispute",
    Event.DISPUTE_REOPENED: "dispute",
    Event.LAPSE_RECORDED: "lapse",
    Event.LAPSE_CONTESTED: "lapse",
    Event.LAPSE_RESOLVED: "lapse",
    Event.EARLY_WARNING: "early_warning",
    Event.MEMBER_JOINED: "invitation",
    # Found when a statement is settled, and told with it.
    Event.CHRONIC_FAILURE: "statement",
    Event.CLAIM_FILED: "claim",
    Event.CLAIM_RESOLVED: "claim",
}
assert set(TOPIC_OF_EVENT.values()) <= set(TOPICS), "an event's topic must be in people.topics"


def event_id_for(event: str, object_id: int) -> uuid.UUID:
    """The one id of an event: the same event always gets the same id."""
    return uuid.uuid5(EVENT_NAMESPACE, f"{event}:{object_id}")


@dataclass
class Notice:
    """One event as it is told: to members (title, body, link), by e-mail (``context`` for
    the templates) and to webhooks (``data``), for the ``organizations`` concerned."""

    event: str
    object_id: int
    title: str
    body: str
    link: str
    occurred_at: datetime
    data: dict[str, Any]
    organizations: Sequence[Organization]
    context: dict[str, Any] = field(default_factory=dict)
    # Tells apart events of one object that can happen again (a dispute resolved once
    # more after the provider reopened it); 0 for the events that happen once.
    occurrence: int = 0
    # The person whose action this is: told of it by no channel of their own (they know).
    actor_id: int | None = None

    @property
    def event_id(self) -> uuid.UUID:
        if self.occurrence:
            return uuid.uuid5(EVENT_NAMESPACE, f"{self.event}:{self.object_id}:{self.occurrence}")
        return event_id_for(self.event, self.object_id)

    def webhook_payload(self) -> dict[str, Any]:
        return {
            "event_id": str(self.event_id),
            "event": self.event,
            "occurred_at": self.occurred_at.isoformat(),
            "data": self.data,
        }


# --------------------------------------------------------------------------- as text


def _decimal(value: Decimal | None) -> str | None:
    # Webhook data keeps a missing value as null, where a CSV cell would be empty.
    return None if value is None else plain_decimal(value)


def _with_days(start: date, end: date) -> str:
    """The period's label, with its days where the label does not say them (a month or a
    quarter): "October 2026, 1–31 Oct 2026", "Week 41 2026 (5–11 Oct)"."""
    label = period_label(start, end)
    if period_kind(start, end) in ("month", "quarter"):
        return gettext("%(period)s, %(days)s") % {"period": label, "days": date_range(start, end)}
    return label


def _instant(moment: datetime) -> str:
    """An instant in the reader's zone, labelled, as pages write it: the zone current while
    the notice is built (``publish`` builds each reading under its zone)."""
    return format_instant(moment, timezone.get_current_timezone_name())


# --------------------------------------------------------------------------- statements


def _statement_link(statement_id: int, line_id: int | None = None) -> str:
    return f"/statements/{statement_id}/" + (f"#line-{line_id}" if line_id else "")


def parties(contract: Contract) -> list[Organization]:
    """Both parties, except that a customer hears nothing of a contract still in draft."""
    if contract.status == "draft":
        return [contract.provider]
    return [contract.provider, contract.customer]


def _line_data(line: StatementLine, currency: str) -> dict[str, Any]:
    return {
        "id": line.pk,
        "contract_service": line.contract_service_id,
        "service": line.contract_service.service.name,
        "key": line.key,
        "name": line.name,
        "attainment": _decimal(line.attainment),
        "target": _decimal(line.target),
        "comparator": line.comparator,
        "met": line.met,
        "credit_percent": _decimal(line.credit_percent),
        "amount": plain_money(line.amount, currency),
    }


def load_statements(
    statement_ids: Sequence[int],
) -> list[tuple[Statement, list[StatementLine]]]:
    """The statements (in the order given; missing ones left out) with their lines; two
    queries for any number."""
    statements = Statement.objects.select_related(
        "contract__provider", "contract__customer"
    ).in_bulk(statement_ids)
    lines: dict[int, list[StatementLine]] = {pk: [] for pk in statements}
    for line in (
        StatementLine.objects.filter(statement_id__in=statements)
        .select_related("contract_service__service")
        # What no notice says: the rule and the measure as issued (JSON read for nothing).
        .defer("credit_rule", "measure")
        .order_by("pk")
    ):
        lines[line.statement_id].append(line)
    return [(statements[pk], lines[pk]) for pk in statement_ids if pk in statements]


def _statement_data(statement: Statement, lines: list[StatementLine]) -> dict[str, Any]:
    currency = statement.currency
    return {
        "statement": statement.pk,
        "contract": statement.contract_id,
        "contract_reference": statement.contract.reference,
        "provider": statement.contract.provider_id,
        "customer": statement.contract.customer_id,
        "period_start": statement.period_start.isoformat(),
        "period_end": statement.period_end.isoformat(),
        "revision": statement.revision,
        "currency": currency,
        "fees_total": plain_money(statement.fees_total, currency),
        "credit_total": plain_money(statement.credit_total, currency),
        "cap_adjustment": plain_money(statement.cap_adjustment, currency),
        "lines": [_line_data(line, currency) for line in lines],
    }


# A line's row in the statement e-mail (HTML and text), written here once per line rather
# than by a loop in the templates: a template variable costs ~10 µs, and an e-mail of nine
# lines had a hundred of them, half the cost of announcing a statement.
_ROW_HTML = (
    '<tr style="border-bottom: 1px solid #e4e7eb; vertical-align: top;">\n'
    "<td>{service}</td>\n"
    '<td>{name}<br><span style="color: #52606d; font-size: 12px;">{explanation}</span></td>\n'
    '<td style="text-align: right;">{result}</td>\n'
    '<td style="text-align: right;">{target}</td>\n'
    '<td style="text-align: right; white-space: nowrap;">{amount}</td>\n'
    "</tr>\n"
)
_ROW_TEXT = "- {service}, {name}: {result}, {credit}\n  {explanation}\n"


def _rows_written(rows: list[dict[str, str | None]]) -> dict[str, str]:
    """The lines' rows as the e-mail's HTML part (escaped) and text part write them."""
    return {
        "rows_html": mark_safe(  # each value escaped by format_html
            "".join(
                format_html(
                    _ROW_HTML,
                    service=row["service"],
                    name=row["name"],
                    explanation=row["explanation"],
                    result=row["result"] if row["attainment"] is None else row["attainment"],
                    target=row["target"],
                    amount=row["amount"],
                )
                for row in rows
            )
        ),
        "rows_text": "".join(_ROW_TEXT.format(**row) for row in rows),
    }


def _row_words() -> dict[str, str]:
    """The words of a line's row in the active language, looked up once per statement."""
    return {
        "no_data": gettext("no data"),
        "against": gettext("%(attainment)s against %(target)s"),
        "credit": gettext("credit %(amount)s"),
    }


def _line_row(line: StatementLine, currency: str, words: dict[str, str]) -> dict[str, str | None]:
    """A statement line as its e-mail shows it, in the active language, through the pages'
    own filters: written once for both parts of the e-mail (text and HTML), where each
    part's template wrote the figures and the explanation again. ``attainment`` is
    ``None`` for a line without data."""
    attainment = (
        None if line.attainment is None else portal_text.attainment(line.attainment, line.indicator)
    )
    target = portal_text.target(line)
    amount = portal_text.money(line.amount, currency)
    return {
        "service": line.contract_service.service.name,
        "name": line.name,
        "explanation": line.explanation_text,
        "attainment": attainment,
        "target": target,
        "amount": amount,
        # The text part's sentences, written here once per line rather than by a
        # blocktranslate per line and part (most of the cost of rendering the e-mail).
        "result": words["no_data"]
        if attainment is None
        else words["against"] % {"attainment": attainment, "target": target},
        "credit": words["credit"] % {"amount": amount},
    }


def statement_notice(statement: Statement, lines: list[StatementLine]) -> Notice:
    """A statement was issued (or revised): both parties hear of its totals."""
    contract = statement.contract
    currency = statement.currency
    label = period_label(statement.period_start, statement.period_end)
    credit = format_money(statement.credit_total, currency)
    fees = format_money(statement.fees_total, currency)
    words = _row_words()
    rows = [_line_row(line, currency, words) for line in lines]
    body = gettext(
        "%(provider)s issued the statement of %(contract)s (%(title)s) for %(period)s: "
        "fees %(fees)s, service credit %(credit)s."
    ) % {
        "provider": contract.provider.name,
        "contract": contract.reference,
        "title": contract.title,
        "period": _with_days(statement.period_start, statement.period_end),
        "fees": fees,
        "credit": credit,
    }
    if statement.cap_adjustment:
        body += " " + gettext(
            "The credits were capped at the at-risk amount (adjustment %(amount)s)."
        ) % {"amount": format_money(statement.cap_adjustment, currency)}
    if statement.revision > 1:
        body += " " + gettext(
            "This revision replaces revision %(previous)s, which is kept unchanged."
        ) % {"previous": statement.revision - 1}
    return Notice(
        event=Event.STATEMENT_ISSUED,
        object_id=statement.pk,
        title=gettext(
            "Statement %(contract)s %(period)s (revision %(revision)s): credit %(credit)s"
        )
        % {
            "contract": contract.reference,
            "period": label,
            "revision": statement.revision,
            "credit": credit,
        },
        body=body,
        link=_statement_link(statement.pk),
        occurred_at=statement.issued_at,
        data=_statement_data(statement, lines),
        organizations=parties(contract),
        context={
            "statement": statement,
            "contract": contract,
            "lines": lines,
            "rows": rows,
            **_rows_written(rows),
        },
    )


def no_data_notice(statement: Statement, lines: list[StatementLine]) -> Notice | None:
    """Objectives of the statement had no measurement (``None`` if every one had): the
    provider, who can send them, hears of it."""
    missing = [line for line in lines if line.attainment is None]
    if not missing:
        return None
    contract = statement.contract
    label = period_label(statement.period_start, statement.period_end)
    names = ", ".join(f"{line.name} ({line.contract_service.service.name})" for line in missing)
    count = len(missing)
    data = _statement_data(statement, lines)
    data["lines"] = [_line_data(line, statement.currency) for line in missing]
    return Notice(
        event=Event.NO_DATA,
        object_id=statement.pk,
        title=ngettext(
            "No data for %(count)s objective of %(contract)s %(period)s",
            "No data for %(count)s objectives of %(contract)s %(period)s",
            count,
        )
        % {"count": count, "contract": contract.reference, "period": label},
        body=ngettext(
            "Statement %(contract)s %(period)s (revision %(revision)s) was issued without any "
            "measurement for: %(names)s. No credit was computed for it; send the measurements "
            "and settle again for a new revision.",
            "Statement %(contract)s %(period)s (revision %(revision)s) was issued without any "
            "measurement for: %(names)s. No credit was computed for them; send the "
            "measurements and settle again for a new revision.",
            count,
        )
        % {
            "contract": contract.reference,
            "period": label,
            "revision": statement.revision,
            "names": names,
        },
        link=_statement_link(statement.pk),
        occurred_at=statement.issued_at,
        data=data,
        organizations=[contract.provider],
        context={"statement": statement, "contract": contract, "lines": missing},
    )


def chronic_failure_notice(failure_id: int) -> Notice:
    """An objective is in chronic failure: both parties hear of it, with the breaches that
    make it and the statement that found it."""
    failure = ChronicFailure.objects.select_related(
        "contract__provider", "contract__customer", "contract_service__service", "statement"
    ).get(pk=failure_id)
    contract = failure.contract
    service = failure.contract_service.service.name
    label = period_label(failure.period_start, failure.period_end)
    return Notice(
        event=Event.CHRONIC_FAILURE,
        object_id=failure.pk,
        title=gettext(
            "Chronic failure: %(objective)s of %(service)s in %(contract)s, %(breaches)s "
            "breaches by %(period)s"
        )
        % {
            "objective": failure.name,
            "service": service,
            "contract": contract.reference,
            "breaches": failure.breaches,
            "period": label,
        },
        body=failure.explanation_text
        + " "
        + gettext("Found by the statement of %(contract)s for %(period)s (revision %(revision)s).")
        % {
            "contract": contract.reference,
            "period": _with_days(failure.period_start, failure.period_end),
            "revision": failure.statement.revision,
        },
        link=_statement_link(failure.statement_id),
        occurred_at=failure.found_at,
        data={
            "chronic_failure": failure.pk,
            "contract": contract.pk,
            "contract_reference": contract.reference,
            "contract_service": failure.contract_service_id,
            "key": failure.key,
            "period_start": failure.period_start.isoformat(),
            "period_end": failure.period_end.isoformat(),
            "breaches": failure.breaches,
            "window": failure.window,
            "statement": failure.statement_id,
        },
        organizations=parties(contract),
        context={"failure": failure, "contract": contract},
    )


# --------------------------------------------------------------------------- the rest


def load_early_warnings(warning_ids: Sequence[int]) -> list[EarlyWarning]:
    """The early warnings (in the order given; missing ones left out) with their contract,
    provider and service; one query for any number."""
    warnings = EarlyWarning.objects.select_related(
        "contract_service__contract__provider", "contract_service__service"
    ).in_bulk(warning_ids)
    return [warnings[pk] for pk in warning_ids if pk in warnings]


def early_warning_notice(warning: EarlyWarning) -> Notice:
    """An objective is breached or at risk in the open period: its provider hears of the
    projection (``warning`` as :func:`load_early_warnings` loads it)."""
    contract_service = warning.contract_service
    contract = contract_service.contract
    currency = contract.currency
    projected = format_money(warning.projected_amount, currency)
    if warning.state == EarlyWarning.State.BREACHED:
        title = gettext(
            "Early warning: %(objective)s of %(service)s in %(contract)s is breached, "
            "projected credit %(amount)s"
        )
    else:
        title = gettext(
            "Early warning: %(objective)s of %(service)s in %(contract)s is at risk, "
            "projected credit %(amount)s"
        )
    return Notice(
        event=Event.EARLY_WARNING,
        object_id=warning.pk,
        title=title
        % {
            "objective": warning.key,
            "service": contract_service.service.name,
            "contract": contract.reference,
            "amount": projected,
        },
        body=warning.message_text,
        link=f"/contracts/{contract.pk}/",
        occurred_at=warning.created_at,
        data={
            "early_warning": warning.pk,
            "contract": contract.pk,
            "contract_reference": contract.reference,
            "contract_service": contract_service.pk,
            "key": warning.key,
            "period_start": warning.period_start.isoformat(),
            "state": warning.state,
            "attainment": _decimal(warning.attainment),
            "projected_credit_percent": _decimal(warning.projected_credit_percent),
            "projected_amount": plain_money(warning.projected_amount, currency),
            "currency": currency,
        },
        organizations=[contract.provider],
        context={"warning": warning, "contract": contract},
    )


def _load_dispute(dispute_id: int) -> Dispute:
    return Dispute.objects.select_related(
        "line__statement__contract__provider",
        "line__statement__contract__customer",
        "line__contract_service__service",
        "opened_by",
        "resolved_by",
    ).get(pk=dispute_id)


def _dispute_data(dispute: Dispute) -> dict[str, Any]:
    line = dispute.line
    statement = line.statement
    return {
        "dispute": dispute.pk,
        "status": dispute.status,
        "reason": dispute.reason,
        "resolution": dispute.resolution,
        "line": line.pk,
        "statement": statement.pk,
        "contract": statement.contract_id,
        "contract_reference": statement.contract.reference,
        "key": line.key,
        "amount": plain_money(line.amount, statement.currency),
        "currency": statement.currency,
        "remedy": dispute.remedy or None,
        "adjustment_amount": None
        if dispute.adjustment_amount is None
        else plain_money(dispute.adjustment_amount, statement.currency),
    }


def dispute_notice(dispute_id: int, event: str) -> Notice:
    """A dispute of a statement line was opened or resolved (``event``): both parties hear
    of it."""
    dispute = _load_dispute(dispute_id)
    line = dispute.line
    statement = line.statement
    contract = statement.contract
    label = period_label(statement.period_start, statement.period_end)
    subject = gettext(
        "%(objective)s of %(service)s on statement %(contract)s %(period)s (revision %(revision)s)"
    ) % {
        "objective": line.name,
        "service": line.contract_service.service.name,
        "contract": contract.reference,
        "period": label,
        "revision": statement.revision,
    }
    words = {
        "subject": subject,
        "customer": contract.customer.name,
        "provider": contract.provider.name,
        "reason": dispute.reason,
        "resolution": dispute.resolution,
    }
    if event == Event.DISPUTE_OPENED:
        title = gettext("Dispute opened: %(subject)s") % words
        body = gettext("%(customer)s disputes this line: %(reason)s") % words
        occurred_at = dispute.opened_at
    elif event == Event.DISPUTE_REOPENED:
        title = gettext("Dispute reopened: %(subject)s") % words
        body = gettext("%(provider)s reopened the dispute (%(reason)s).") % words
        occurred_at = dispute.reopened_at or timezone.now()
    else:
        if dispute.status == Dispute.Status.ACCEPTED:
            title = gettext("Dispute accepted: %(subject)s") % words
            body = gettext("%(provider)s accepted the dispute (%(reason)s): %(resolution)s") % words
        else:
            title = gettext("Dispute rejected: %(subject)s") % words
            body = gettext("%(provider)s rejected the dispute (%(reason)s): %(resolution)s") % words
        occurred_at = dispute.resolved_at or timezone.now()
    return Notice(
        event=event,
        object_id=dispute.pk,
        title=title,
        body=body,
        link=_statement_link(statement.pk, line.pk),
        occurred_at=occurred_at,
        data=_dispute_data(dispute),
        organizations=parties(contract),
        context={
            "dispute": dispute,
            "line": line,
            "statement": statement,
            "contract": contract,
        },
        occurrence=int(dispute.reopened_at.timestamp()) if dispute.reopened_at else 0,
        actor_id=dispute.opened_by_id
        if event == Event.DISPUTE_OPENED
        else (dispute.resolved_by_id if event == Event.DISPUTE_RESOLVED else None),
    )


def load_lapse(lapse_id: int) -> ResponsibilityLapse:
    """The lapse with its contract and parties, loaded once for every reading's notice."""
    return ResponsibilityLapse.objects.select_related(
        "responsibility__contract__provider", "responsibility__contract__customer"
    ).get(pk=lapse_id)


def lapse_notice(lapse: ResponsibilityLapse) -> Notice:
    """A lapse of a customer responsibility was recorded (``lapse``, from
    :func:`load_lapse`): both parties hear of it, since it takes time out of the credits."""
    responsibility = lapse.responsibility
    contract = responsibility.contract
    start = _instant(lapse.start)
    end = _instant(lapse.end)
    return Notice(
        event=Event.LAPSE_RECORDED,
        object_id=lapse.pk,
        title=gettext("Responsibility lapse on %(contract)s: %(title)s, %(start)s to %(end)s")
        % {
            "contract": contract.reference,
            "title": responsibility.title,
            "start": start,
            "end": end,
        },
        body=(
            gettext(
                "A lapse of the customer's responsibility “%(title)s” was recorded from "
                "%(start)s to %(end)s. Incidents and samples of the objectives it affects are "
                "excluded from the credits of that time."
            )
            % {"title": responsibility.title, "start": start, "end": end}
            + (" " + gettext("Note: %(note)s") % {"note": lapse.note} if lapse.note else "")
        ),
        link=f"/contracts/{contract.pk}/",
        occurred_at=lapse.recorded_at,
        data={
            "lapse": lapse.pk,
            "responsibility": responsibility.pk,
            "responsibility_title": responsibility.title,
            "contract": contract.pk,
            "contract_reference": contract.reference,
            "start": lapse.start.isoformat(),
            "end": lapse.end.isoformat(),
            "note": lapse.note,
        },
        organizations=parties(contract),
        context={"lapse": lapse, "responsibility": responsibility, "contract": contract},
        actor_id=lapse.recorded_by_id,
    )


def _lapse_data(lapse: ResponsibilityLapse) -> dict[str, Any]:
    responsibility = lapse.responsibility
    contract = responsibility.contract
    return {
        "lapse": lapse.pk,
        "responsibility": responsibility.pk,
        "responsibility_title": responsibility.title,
        "contract": contract.pk,
        "contract_reference": contract.reference,
        "start": lapse.start.isoformat(),
        "end": lapse.end.isoformat(),
        "note": lapse.note,
        "status": lapse.status,
        "contest_reason": lapse.contest_reason,
        "resolution": lapse.resolution,
    }


def lapse_contest_notice(lapse: ResponsibilityLapse, event: str) -> Notice:
    """The customer contested a lapse, or the provider kept or withdrew it (``event``;
    ``lapse`` from :func:`load_lapse`): both parties hear of it. Each step is an event of
    its own (ids differ by event)."""
    responsibility = lapse.responsibility
    contract = responsibility.contract
    span = gettext("%(start)s to %(end)s") % {
        "start": _instant(lapse.start),
        "end": _instant(lapse.end),
    }
    subject = gettext("lapse of “%(title)s” on %(contract)s, %(span)s") % {
        "title": responsibility.title,
        "contract": contract.reference,
        "span": span,
    }
    words = {
        "subject": subject,
        "customer": contract.customer.name,
        "provider": contract.provider.name,
        "reason": lapse.contest_reason,
        "resolution": lapse.resolution,
    }
    if event == Event.LAPSE_CONTESTED:
        title = gettext("Lapse contested: %(subject)s") % words
        body = gettext("%(customer)s contests this lapse: %(reason)s") % words
        occurred_at = lapse.contested_at or timezone.now()
    else:
        withdrawn = lapse.status == ResponsibilityLapse.Status.WITHDRAWN
        if withdrawn:
            title = gettext("Lapse withdrawn: %(subject)s") % words
            body = (
                gettext(
                    "%(provider)s withdrew the lapse contested by %(customer)s (%(reason)s): "
                    "%(resolution)s It relieves nothing any more: closed periods it touched are "
                    "settled again."
                )
                % words
            )
        else:
            title = gettext("Lapse kept: %(subject)s") % words
            body = (
                gettext(
                    "%(provider)s kept the lapse contested by %(customer)s (%(reason)s): "
                    "%(resolution)s It still relieves the provider."
                )
                % words
            )
        occurred_at = lapse.resolved_at or timezone.now()
    return Notice(
        event=event,
        # One id per step: contested, then kept or withdrawn, are separate events.
        object_id=lapse.pk,
        title=" ".join(title.split())[:300],
        body=body,
        link="/responsibilities/",
        occurred_at=occurred_at,
        data=_lapse_data(lapse),
        organizations=parties(contract),
        context={"lapse": lapse, "responsibility": responsibility, "contract": contract},
        actor_id=lapse.contested_by_id if event == Event.LAPSE_CONTESTED else lapse.resolved_by_id,
    )


def _claim_data(claim: Claim) -> dict[str, Any]:
    contract = claim.contract_service.contract
    return {
        "claim": claim.pk,
        "status": claim.status,
        "contract": contract.pk,
        "contract_reference": contract.reference,
        "contract_service": claim.contract_service_id,
        "service": claim.contract_service.service.name,
        "key": claim.key,
        "started_at": claim.started_at.isoformat(),
        "ended_at": claim.ended_at.isoformat(),
        "period_start": claim.period_start.isoformat(),
        "period_end": claim.period_end.isoformat(),
        "description": claim.description,
        "resolution": claim.resolution,
        "incident": claim.incident_id,
    }


def claim_notice(claim_id: int, event: str) -> Notice:
    """The customer filed a claim of an outage, or the provider accepted or rejected it
    (``event``): both parties hear of it. Filing and deciding are separate events."""
    claim = Claim.objects.select_related(
        "contract_service__contract__provider",
        "contract_service__contract__customer",
        "contract_service__service",
        "filed_by",
        "resolved_by",
    ).get(pk=claim_id)
    contract = claim.contract_service.contract
    outage = (
        f"{claim.contract_service.service.name}, "
        # The outage happened at one moment for everyone: the reader's zone, labelled.
        f"{local_span(claim.started_at, claim.ended_at, timezone.get_current_timezone_name())}"
    )
    subject = gettext("claim #%(number)s on %(contract)s (%(outage)s)") % {
        "number": claim.pk,
        "contract": contract.reference,
        "outage": outage,
    }
    if event == Event.CLAIM_FILED:
        title = gettext("Claim filed: %(subject)s") % {"subject": subject}
        body = gettext(
            "%(customer)s claims an outage the provider did not record, in %(period)s: "
            "%(description)s"
        ) % {
            "customer": contract.customer.name,
            "period": _with_days(claim.period_start, claim.period_end),
            "description": claim.description,
        }
        occurred_at = claim.filed_at
    else:
        accepted = claim.status == Claim.Status.ACCEPTED
        words = {"subject": subject, "provider": contract.provider.name}
        if accepted:
            title = gettext("Claim accepted: %(subject)s") % words
            body = (
                gettext(
                    "%(provider)s accepted the claim. The outage is recorded as a provider "
                    "incident; the period's statement is settled again and its new revision cites "
                    "the claim."
                )
                % words
            )
        else:
            title = gettext("Claim rejected: %(subject)s") % words
            body = gettext("%(provider)s rejected the claim.") % words
        if claim.resolution:
            note = gettext("Note: %(note)s") if accepted else gettext("Reason: %(note)s")
            body += " " + note % {"note": claim.resolution}
        occurred_at = claim.resolved_at or timezone.now()
    return Notice(
        event=event,
        object_id=claim.pk,
        title=" ".join(title.split())[:300],
        body=body,
        link=f"/claims/{claim.pk}/",
        occurred_at=occurred_at,
        data=_claim_data(claim),
        organizations=parties(contract),
        context={"claim": claim, "contract": contract, "outage": outage},
    )


def member_joined_notice(invitation_id: int) -> Notice:
    """Someone accepted an invitation: the organisation they joined hears of it, and the
    provider that invited them."""
    invitation = Invitation.objects.select_related(
        "organization", "invited_by_organization", "accepted_by"
    ).get(pk=invitation_id)
    organization = invitation.organization
    who = invitation.accepted_by.get_username() if invitation.accepted_by else invitation.email
    return Notice(
        event=Event.MEMBER_JOINED,
        object_id=invitation.pk,
        title=gettext("%(who)s joined %(organization)s as %(role)s")
        % {
            "who": who,
            "organization": organization.name,
            "role": invitation.get_role_display().lower(),
        },
        body=gettext(
            "%(who)s (%(email)s) accepted the invitation to %(organization)s and is now a "
            "member with the role %(role)s."
        )
        % {
            "who": who,
            "email": invitation.email,
            "organization": organization.name,
            "role": invitation.get_role_display().lower(),
        },
        link="/invitations/",
        occurred_at=invitation.accepted_at or timezone.now(),
        data={
            "invitation": invitation.pk,
            "organization": organization.pk,
            "organization_name": organization.name,
            "email": invitation.email,
            "username": who,
            "role": invitation.role,
        },
        organizations=list(dict.fromkeys([organization, invitation.invited_by_organization])),
        context={"invitation": invitation, "organization_joined": organization},
    )
