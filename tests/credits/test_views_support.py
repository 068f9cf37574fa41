"""Builders shared by the credits page, export and browser tests (no tests here).

Statements are immutable once inserted (a trigger refuses UPDATE and DELETE), so tests
create them whole, lines first computed here, through the ORM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from contracts.models import Contract, ContractService, Membership
from credits.models import Statement, StatementLine
from tests.factories import MembershipFactory, ServiceLevelFactory, UserFactory

PER_STEP = {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": None}


@dataclass(frozen=True)
class LineSpec:
    contract_service: ContractService
    amount: Decimal
    attainment: Decimal | None = Decimal("99.9")
    target: Decimal = Decimal("99.5")
    key: str = "availability"
    name: str = "Availability"
    fee: Decimal = Decimal("1000.00")
    credit_rule: dict | None = None

    @property
    def met(self) -> bool | None:
        if self.attainment is None:
            return None
        return self.attainment >= self.target


def month_end(start: date) -> date:
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def make_statement(
    contract: Contract,
    *,
    period_start: date,
    lines: Sequence[LineSpec],
    revision: int = 1,
    cap_adjustment: Decimal = Decimal("0"),
    at_risk_amount: Decimal | None = None,
    period_end: date | None = None,
) -> Statement:
    """One issued statement with its lines; totals are the sums of the lines. The period
    is the month from ``period_start`` unless ``period_end`` says otherwise."""
    lines_total = sum((spec.amount for spec in lines), Decimal(0))
    statement = Statement.objects.create(
        contract=contract,
        period_start=period_start,
        period_end=period_end or month_end(period_start),
        revision=revision,
        currency=contract.currency,
        fees_total=sum((spec.fee for spec in lines), Decimal(0)),
        at_risk_amount=at_risk_amount,
        credit_total=lines_total + cap_adjustment,
        cap_adjustment=cap_adjustment,
        fingerprint=f"{contract.pk}-{period_start}-{revision}",
        issued_at=timezone.now(),
    )
    StatementLine.objects.bulk_create(
        [
            StatementLine(
                statement=statement,
                contract_service=spec.contract_service,
                key=spec.key,
                name=spec.name,
                source_level="corporate",
                indicator="ratio",
                comparator="gte",
                target=spec.target,
                credit_rule=spec.credit_rule if spec.credit_rule is not None else PER_STEP,
                measure={"ok": 999, "total": 1000},
                attainment=spec.attainment,
                met=spec.met,
                fee=spec.fee,
                credit_percent=(spec.amount / spec.fee * 100).quantize(Decimal("0.000001")),
                amount=spec.amount,
                explanation=f"Explained: {spec.amount} {contract.currency} credited.",
            )
            for spec in lines
        ]
    )
    return statement


def customer_editor(personas, username: str = "customer-editor"):
    """A member of the Globex customer who may open disputes (the persona is a viewer)."""
    user = UserFactory(username=username)
    MembershipFactory(user=user, organization=personas.customer, role=Membership.Role.EDITOR)
    return user


def availability_objective(personas, *, target: Decimal = Decimal("99.5")):
    """A corporate availability objective of the provider (so ACME-1 has it in force)."""
    return ServiceLevelFactory(
        provider=personas.provider,
        key="availability",
        name="Availability",
        indicator="ratio",
        target=target,
        credit_rule=PER_STEP,
    )
