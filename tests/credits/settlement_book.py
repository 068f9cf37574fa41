"""A small book of contracts for the settlement tests: builders, samples and instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from contracts.models import Contract, ContractService, Measurement, ServiceLevel
from credits.models import Statement, StatementLine
from tests.factories import ContractFactory, ContractServiceFactory, ServiceFactory


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0, tz: str = "UTC"):
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(tz))


def contract(
    *,
    period: str = "month",
    tz: str = "UTC",
    currency: str = "EUR",
    start: date = date(2026, 1, 1),
    end: date | None = None,
    cap: str | None = None,
    delay: int = 2,
    status: str = "active",
    reference: str | None = None,
    provider=None,
    customer=None,
) -> Contract:
    fields = {
        "settlement_period": period,
        "timezone": tz,
        "currency": currency,
        "start_date": start,
        "end_date": end,
        "credit_cap_percent": Decimal(cap) if cap is not None else None,
        "settlement_delay_days": delay,
        "status": status,
    }
    if reference:
        fields["reference"] = reference
    if provider is not None:
        fields["provider"] = provider
    if customer is not None:
        fields["customer"] = customer
    return ContractFactory(**fields)


def service(contract: Contract, fee: str = "1000.00", name: str | None = None) -> ContractService:
    svc = ServiceFactory(provider=contract.provider, **({"name": name} if name else {}))
    return ContractServiceFactory(contract=contract, service=svc, fee=Decimal(fee))


def objective(
    contract: Contract,
    cs: ContractService | None = None,
    *,
    key: str,
    indicator: str,
    target: str,
    comparator: str = "gte",
    rule: dict | None = None,
    threshold: str | None = None,
    threshold_comparator: str | None = None,
    name: str | None = None,
) -> ServiceLevel:
    """A customer-level objective, or a contract-service one when ``cs`` is given."""
    level = ServiceLevel(
        level="contract_service" if cs else "customer",
        provider=contract.provider,
        contract=contract,
        service=cs.service if cs else None,
        key=key,
        name=name or key.replace("-", " ").capitalize(),
        indicator=indicator,
        comparator=comparator,
        target=Decimal(target),
        threshold=Decimal(threshold) if threshold is not None else None,
        threshold_comparator=threshold_comparator,
        credit_rule=rule,
    )
    level.full_clean()
    level.save()
    return level


def samples(
    cs: ContractService,
    key: str,
    first: datetime,
    *,
    oks: list[bool] | None = None,
    values: list[object] | None = None,
    every: timedelta = timedelta(minutes=5),
) -> int:
    """Samples one ``every`` apart from ``first``: ``ok`` flags or values."""
    items = oks if oks is not None else values
    assert items is not None
    rows = []
    for index, item in enumerate(items):
        observed_at = first + index * every
        if oks is not None:
            rows.append(Measurement(contract_service=cs, key=key, observed_at=observed_at, ok=item))
        else:
            value = None if item is None else Decimal(str(item))
            rows.append(
                Measurement(contract_service=cs, key=key, observed_at=observed_at, value=value)
            )
    Measurement.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def ratio(cs: ContractService, key: str, first: datetime, ok: int, total: int, **kw) -> int:
    return samples(cs, key, first, oks=[True] * ok + [False] * (total - ok), **kw)


def line_rows(statement: Statement) -> list[tuple]:
    """Every stored field of a statement's lines, to compare before and after."""
    fields = [f.attname for f in StatementLine._meta.concrete_fields]
    return list(
        StatementLine.objects.filter(statement=statement).order_by("pk").values_list(*fields)
    )


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
