"""Generate a realistic book of contracts and samples for the benchmarks, with ``COPY``.

    python -m bench.generate --contracts 2000 --months 1 --samples-per-objective 400 --seed 7
    python -m bench.generate --contracts 2000 --months 1 --samples 5000000 --periods month

The book: providers with a catalogue of services; customers; contracts of 1–5 services
(weekly, monthly and quarterly periods, several time zones and currencies, some with a
``credit_cap_percent``); objectives at all four levels (corporate, service, customer,
contract service — including ``enabled=False`` removals) with every rule kind (per_step,
tiered for ``gte`` and ``lte``, linear, flat percent and flat amount, and pool only where
the contract has a cap); incidents of every cause; maintenance windows; responsibilities
linked to objectives, with lapses; and samples for every effective ratio, threshold and
count objective. Samples are ``samples-per-objective`` per (contract service, key) per
calendar month in the contract's time zone (fewer in a month the contract is active for
only part of), or exactly ``--samples`` in total, spread by active time.

The book covers ``--months`` calendar months ending with ``--last-month`` (default: the
latest month in which every period of the book is due, whatever the day: each period has
ended in every zone of the book and the longest settlement delay has passed, so a sweep
settles the whole book, not the part whose delay happens to be over). It replaces
whatever the database held (``TRUNCATE … CASCADE`` of the contracts and credits tables),
which is why the command refuses a database whose name does not contain ``bench``.
Everything is written with PostgreSQL ``COPY`` and explicit ids, so the same arguments
give the same rows, ids included. The measurement table's secondary indexes and foreign
key are dropped during the load and rebuilt after it (one pass instead of one per row).

A ``bench_book`` table records the parameters of the book loaded, so that a benchmark can
reuse it instead of generating it again (:func:`loaded_book`).
"""

from __future__ import annotations

import argparse
import io
import json
import math
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import engine

MAX_CONTRACTS = 200_000
MAX_MONTHS = 120
MAX_SAMPLES_PER_OBJECTIVE = 100_000
# About 10 GB of table and indexes: far beyond any benchmark here, and a typo guard.
MAX_SAMPLES = 100_000_000
PERIOD_KINDS = ("week", "month", "quarter")
MARKER_TABLE = "bench_book"
# Part of the marker: a change of what the generator makes invalidates loaded books.
GENERATOR_VERSION = 3
# The settlement delays (days) contracts are given, one drawn per contract.
SETTLEMENT_DELAYS = (2, 2, 2, 0, 5)

# (time zone, currency) pairs: contracts are settled on calendar boundaries in their zone.
ZONES = [
    ("UTC", "USD"),
    ("Europe/Berlin", "EUR"),
    ("Europe/London", "GBP"),
    ("America/New_York", "USD"),
    ("Asia/Tokyo", "JPY"),
    ("Australia/Sydney", "AUD"),
    ("Asia/Kolkata", "INR"),
]
PROVIDER_NAMES = [
    "Acme Networks",
    "Northwind Hosting",
    "Initech Managed Services",
    "Umbrella Cloud",
    "Hooli Connect",
    "Stark Digital",
    "Wayne Data Centres",
    "Cyberdyne IT",
    "Tyrell Analytics",
    "Soylent Marketing",
]
CUSTOMER_NAMES = [
    "Globex",
    "Vandelay Industries",
    "Kramerica",
    "Bluth Company",
    "Dunder Mifflin",
    "Pied Piper",
    "Wonka Industries",
    "Gringotts",
    "Oceanic Airlines",
    "Monarch Solutions",
]

# Corporate objectives of every provider: (key, name, indicator, comparator, target,
# threshold, threshold comparator, rule).
CORPORATE = [
    (
        "availability",
        "Availability",
        "uptime",
        "gte",
        "99.9",
        None,
        None,
        {
            "kind": "tiered",
            "tiers": [
                {"bound": "99.9", "percent": "10"},
                {"bound": "99.0", "percent": "25"},
                {"bound": "95.0", "percent": "50"},
            ],
        },
    ),
    (
        "support-response",
        "Tickets answered within 60 minutes",
        "threshold",
        "gte",
        "95",
        "60",
        "lte",
        {"kind": "per_step", "step": "1", "percent": "1", "max_percent": "10"},
    ),
]
# The service catalogue: (code, name, key, objective name, indicator, comparator, target,
# threshold, threshold comparator, rule). Every service has one objective at service level.
CATALOGUE = [
    (
        "internet-access",
        "Internet access",
        "download-speed",
        "Download speed of at least 100 Mbit/s",
        "threshold",
        "gte",
        "95",
        "100",
        "gte",
        {
            "kind": "tiered",
            "tiers": [{"bound": "95", "percent": "5"}, {"bound": "90", "percent": "15"}],
        },
    ),
    (
        "managed-hosting",
        "Managed hosting",
        "backup-success",
        "Nightly backups completed",
        "ratio",
        "gte",
        "99",
        None,
        None,
        {"kind": "linear", "factor": "1", "max_percent": "20"},
    ),
    (
        "reporting",
        "Monthly reporting",
        "report-delivery",
        "Reports delivered on time",
        "ratio",
        "gte",
        "99.5",
        None,
        None,
        {"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": "10"},
    ),
    (
        "service-desk",
        "Service desk",
        "resolution-30min",
        "Tickets resolved within 30 minutes",
        "threshold",
        "gte",
        "95",
        "30",
        "lte",
        {"kind": "per_step", "step": "1", "percent": "2", "max_percent": None},
    ),
    (
        "data-pipeline",
        "Data pipeline",
        "failed-reports",
        "Failed report runs",
        "count",
        "lte",
        "2",
        None,
        None,
        {"kind": "flat", "percent": "5"},
    ),
    (
        "lead-generation",
        "Lead generation",
        "qualified-leads",
        "Qualified leads",
        "count",
        "gte",
        "100",
        None,
        None,
        {"kind": "linear", "factor": "0.1", "max_percent": "25"},
    ),
    (
        "cdn",
        "Content delivery",
        "cache-hit-ratio",
        "Requests served from cache",
        "ratio",
        "gte",
        "90",
        None,
        None,
        {"kind": "flat", "amount": "250.00"},
    ),
    (
        "email",
        "Business e-mail",
        "delivery-latency",
        "Mail delivered within 5 seconds",
        "threshold",
        "gte",
        "99",
        "5",
        "lte",
        {
            "kind": "tiered",
            "tiers": [{"bound": "99", "percent": "5"}, {"bound": "97", "percent": "10"}],
        },
    ),
]
INCIDENT_CAUSES = ["provider"] * 10 + ["customer"] * 4 + ["third_party"] * 3
INCIDENT_CAUSES += ["maintenance"] * 2 + ["force_majeure"]
RESPONSIBILITIES = [
    (
        "Customer representative available",
        "The customer provides a representative to resolve problems with the provider.",
    ),
    (
        "Site access for engineers",
        "The customer gives the provider's engineers access to its premises within 4 hours.",
    ),
    (
        "Timely input data",
        "The customer delivers the input files by 06:00 on each working day.",
    ),
]


class ArgumentError(ValueError):
    """Impossible arguments; the message is one readable line."""


@dataclass(frozen=True)
class BookSpec:
    """What to generate. ``samples`` (a total) wins over ``samples_per_objective``."""

    contracts: int
    months: int = 1
    samples_per_objective: int = 0
    samples: int | None = None
    seed: int = 1
    last_month: str = ""  # "YYYY-MM"; empty means the latest month entirely due now
    periods: tuple[str, ...] = PERIOD_KINDS
    all_active: bool = False
    # The first customer holds this many of the contracts (the read benchmarks' customer).
    first_customer_contracts: int = 0

    def key(self) -> dict[str, Any]:
        data = asdict(self)
        data["periods"] = list(self.periods)
        data["last_month"] = self.first_of_last_month().isoformat()
        data["generator_version"] = GENERATOR_VERSION
        return data

    def first_of_last_month(self) -> date:
        if self.last_month:
            year, month = (int(part) for part in self.last_month.split("-"))
            return date(year, month, 1)
        return last_due_month(self.periods, datetime.now(UTC))

    def months_covered(self) -> list[date]:
        first = self.first_of_last_month()
        out = [first]
        while len(out) < self.months:
            first = (first - timedelta(days=1)).replace(day=1)
            out.append(first)
        return out[::-1]


def last_due_month(periods: Sequence[str], now: datetime) -> date:
    """The first day of the latest month whose periods of every kind in ``periods`` are all
    due at ``now``: the period holding the month's last day has ended in every zone of the
    book (the last midnight is the westernmost zone's) and the longest settlement delay has
    passed since. A quarterly book therefore ends with a quarter."""
    first = (now.astimezone(UTC).date().replace(day=1) - timedelta(days=1)).replace(day=1)
    while not _entirely_due(first, periods, now):
        first = (first - timedelta(days=1)).replace(day=1)
    return first


def _entirely_due(first: date, periods: Sequence[str], now: datetime) -> bool:
    last_day = _next_month(first) - timedelta(days=1)
    wait = timedelta(days=1 + max(SETTLEMENT_DELAYS))
    return all(
        _utc_at(engine.period_containing(last_day, kind, tz).end + wait, tz) <= now
        for kind in periods
        for tz, _currency in ZONES
    )


def contract_periods(book: Book, spec: BookSpec) -> int:
    """How many contract periods of the book a sweep settles: every period of a swept
    contract (active, suspended, or terminated with its end date) that holds a day of the
    book, as the sweep's due-period query counts them."""
    book_end = _next_month(spec.first_of_last_month()) - timedelta(days=1)
    count = 0
    for c in book.contracts:
        if c.status == "draft" or (c.status == "terminated" and c.end is None):
            continue
        last = book_end if c.end is None else min(book_end, c.end)
        count += sum(1 for _ in engine.periods_between(c.start, last, c.period, c.tz))
    return count


def validate(spec: BookSpec) -> None:
    """Raise :class:`ArgumentError` with one readable line for impossible arguments."""
    if not 1 <= spec.contracts <= MAX_CONTRACTS:
        raise ArgumentError(f"--contracts must be between 1 and {MAX_CONTRACTS:,}")
    if not 1 <= spec.months <= MAX_MONTHS:
        raise ArgumentError(f"--months must be between 1 and {MAX_MONTHS}")
    if spec.samples is not None:
        if not 0 <= spec.samples <= MAX_SAMPLES:
            raise ArgumentError(f"--samples must be between 0 and {MAX_SAMPLES:,}")
    elif not 1 <= spec.samples_per_objective <= MAX_SAMPLES_PER_OBJECTIVE:
        raise ArgumentError(
            f"--samples-per-objective must be between 1 and {MAX_SAMPLES_PER_OBJECTIVE:,}"
        )
    else:
        # About 3 services per contract, 2 sampled objectives each.
        estimate = spec.contracts * 6 * spec.months * spec.samples_per_objective
        if estimate > MAX_SAMPLES:
            raise ArgumentError(
                f"about {estimate:,} samples asked for (contracts × ~6 objectives × months × "
                f"samples per objective); the limit is {MAX_SAMPLES:,}"
            )
    if not 0 <= spec.first_customer_contracts <= spec.contracts:
        raise ArgumentError("--first-customer-contracts must be between 0 and --contracts")
    if not spec.periods or any(kind not in PERIOD_KINDS for kind in spec.periods):
        raise ArgumentError("--periods takes a comma-separated list of week, month, quarter")
    if spec.last_month:
        try:
            year, month = (int(part) for part in spec.last_month.split("-"))
            date(year, month, 1)
        except ValueError:
            raise ArgumentError("--last-month must look like 2026-10") from None


def check_database_url(url: str) -> None:
    """Only PostgreSQL can take ``COPY``; refuse anything else, and non-benchmark databases."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in ("postgres", "postgresql", "pgsql"):
        raise ArgumentError(
            f"unsupported database URL scheme {scheme or url!r}: use postgres://user@host:port/db"
        )
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    if not name or "bench" not in name:
        raise ArgumentError(
            f"refusing to replace database {name!r}: the generator wipes it, so its name "
            "must contain 'bench'"
        )


# --------------------------------------------------------------------------- the book


@dataclass
class Objective:
    id: int
    level: str
    provider: int
    contract: int | None
    service: int | None
    key: str
    name: str
    indicator: str
    comparator: str
    target: str
    threshold: str | None
    threshold_comparator: str | None
    enabled: bool
    rule: dict | None


@dataclass
class ContractRow:
    id: int
    provider: int
    customer: int
    reference: str
    title: str
    currency: str
    start: date
    end: date | None
    status: str
    period: str
    tz: str
    cap: str | None
    delay: int
    services: list[tuple[int, int, str]] = field(default_factory=list)  # (cs id, service, fee)


@dataclass
class Book:
    """Every row, in table order; ``pairs`` are the sampled (cs, key, objective) triples."""

    organizations: list[tuple] = field(default_factory=list)
    users: list[tuple] = field(default_factory=list)
    memberships: list[tuple] = field(default_factory=list)
    services: list[tuple] = field(default_factory=list)
    contracts: list[ContractRow] = field(default_factory=list)
    objectives: list[Objective] = field(default_factory=list)
    responsibilities: list[tuple] = field(default_factory=list)
    responsibility_links: list[tuple] = field(default_factory=list)
    lapses: list[tuple] = field(default_factory=list)
    windows: list[tuple] = field(default_factory=list)
    incidents: list[tuple] = field(default_factory=list)
    # (contract service id, key, objective, contract) for each effective sampled objective
    pairs: list[tuple[int, str, Objective, ContractRow]] = field(default_factory=list)


def _money(rng: random.Random, currency: str) -> str:
    if currency == "JPY":
        return str(rng.randrange(50, 2500) * 1000)
    if currency == "INR":
        return f"{rng.randrange(40, 2000) * 1000}.00"
    return f"{rng.randrange(5, 250) * 100}.00"


def _at(day: date, tz: str) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz))


def _utc_at(day: date, tz: str) -> datetime:
    # Local midnight as a UTC instant: adding minutes to a zoneinfo datetime is wall-clock
    # arithmetic, which across a DST change can put an interval's end before its start.
    return _at(day, tz).astimezone(UTC)


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def build_book(spec: BookSpec) -> Book:
    """Decide every row of the book (no database access); deterministic for a seed."""
    rng = random.Random(spec.seed)
    book = Book()
    months = spec.months_covered()
    book_start, book_end = months[0], _next_month(months[-1]) - timedelta(days=1)
    created = datetime(book_start.year, book_start.month, book_start.day, tzinfo=UTC)

    def objective(
        level: str,
        provider: int,
        key: str,
        name: str,
        indicator: str,
        target: str,
        *,
        comparator: str = "gte",
        contract: int | None = None,
        service: int | None = None,
        threshold: str | None = None,
        threshold_comparator: str | None = None,
        enabled: bool = True,
        rule: dict | None = None,
    ) -> Objective:
        made = Objective(
            id=len(book.objectives) + 1,
            level=level,
            provider=provider,
            contract=contract,
            service=service,
            key=key,
            name=name,
            indicator=indicator,
            comparator=comparator,
            target=target,
            threshold=threshold,
            threshold_comparator=threshold_comparator,
            enabled=enabled,
            rule=rule,
        )
        book.objectives.append(made)
        return made

    n_providers = max(1, min(50, math.ceil(spec.contracts / 200)))
    n_customers = max(1, spec.contracts // 4)
    providers: list[int] = []
    for n in range(n_providers):
        base = PROVIDER_NAMES[n % len(PROVIDER_NAMES)]
        name = base if n < len(PROVIDER_NAMES) else f"{base} {n // len(PROVIDER_NAMES) + 1}"
        slug = f"p{n + 1}-" + base.lower().replace(" ", "-")
        providers.append(len(book.organizations) + 1)
        book.organizations.append((providers[-1], name, slug, "provider", created))
    customers: list[int] = []
    for n in range(n_customers):
        base = CUSTOMER_NAMES[n % len(CUSTOMER_NAMES)]
        slug = f"c{n + 1}-" + base.lower().replace(" ", "-")
        customers.append(len(book.organizations) + 1)
        book.organizations.append((customers[-1], f"{base} {n + 1}", slug, "customer", created))

    # Services, and the corporate and service-level objectives of every provider.
    catalogue: dict[int, list[int]] = {}
    corporate: dict[int, list[Objective]] = {}
    by_service: dict[int, Objective] = {}
    for provider in providers:
        corporate[provider] = [
            objective(
                "corporate",
                provider,
                key,
                name,
                indicator,
                target,
                comparator=comparator,
                threshold=threshold,
                threshold_comparator=threshold_comparator,
                rule=rule,
            )
            for key, name, indicator, comparator, target, threshold, threshold_comparator, rule in (
                CORPORATE
            )
        ]
        catalogue[provider] = []
        for (
            code,
            name,
            key,
            sl_name,
            indicator,
            comparator,
            target,
            threshold,
            thr_comp,
            rule,
        ) in CATALOGUE:
            service = len(book.services) + 1
            book.services.append((service, provider, code, name, f"{name}, as catalogued."))
            catalogue[provider].append(service)
            by_service[service] = objective(
                "service",
                provider,
                key,
                sl_name,
                indicator,
                target,
                comparator=comparator,
                service=service,
                threshold=threshold,
                threshold_comparator=thr_comp,
                rule=rule,
            )
    service_names = {row[0]: row[3] for row in book.services}

    # People: whom a statement notifies. Unusable passwords; the read benchmark sets one.
    for org_id, _name, slug, kind, *_rest in book.organizations:
        roles = (
            ["admin", "editor"] if kind == "provider" else ["viewer", "admin"][: rng.randint(1, 2)]
        )
        for role in roles:
            user = len(book.users) + 1
            username = f"{slug[:120]}-{role}"
            book.users.append(
                (user, "!bench-unusable", False, username, "", "", f"{username}@example.com",
                 False, True, created)
            )  # fmt: skip
            book.memberships.append((len(book.memberships) + 1, user, org_id, role))

    cs_id = 0
    for n in range(spec.contracts):
        provider = providers[n % n_providers]
        customer = customers[rng.randrange(n_customers)]
        if n < spec.first_customer_contracts:
            customer = customers[0]
        elif spec.first_customer_contracts and n_customers > 1 and customer == customers[0]:
            customer = customers[1]  # the first customer holds exactly the contracts asked for
        tz, currency = ZONES[rng.randrange(len(ZONES))]
        period = spec.periods[rng.randrange(len(spec.periods))]
        start = book_start
        if rng.random() < 0.1:
            # Starts within the first month: its first period is prorated.
            start = book_start + timedelta(days=rng.randrange(1, 27))
        end = None
        status = "active"
        if not spec.all_active:
            roll = rng.random()
            if roll < 0.04:
                status = "draft"
            elif roll < 0.07:
                status = "suspended"
            elif roll < 0.10 and book_end > start:
                status = "terminated"
                end = start + timedelta(days=rng.randrange((book_end - start).days + 1))
        cap = str(rng.choice([10, 15, 20, 25])) if rng.random() < 0.4 else None
        delay = rng.choice(SETTLEMENT_DELAYS)
        chosen = rng.sample(catalogue[provider], rng.randint(1, 5))
        contract = ContractRow(
            id=n + 1,
            provider=provider,
            customer=customer,
            reference=f"P{provider}-{n + 1:06d}",
            title=", ".join(service_names[s] for s in chosen)[:200],
            currency=currency,
            start=start,
            end=end,
            status=status,
            period=period,
            tz=tz,
            cap=cap,
            delay=delay,
        )
        for service in chosen:
            cs_id += 1
            contract.services.append((cs_id, service, _money(rng, currency)))
        book.contracts.append(contract)

        # Customer-level objectives: a stricter support target, a removal, a pool rule.
        customer_levels: list[Objective] = []
        roll = rng.random()
        if roll < 0.38:
            negotiated = roll < 0.3
            customer_levels.append(
                objective(
                    "customer",
                    provider,
                    "support-response",
                    "Tickets answered within 60 minutes"
                    + (" (negotiated)" if negotiated else " (not part of this contract)"),
                    "threshold",
                    "98" if negotiated else "95",
                    contract=contract.id,
                    threshold="60",
                    threshold_comparator="lte",
                    enabled=negotiated,
                    rule={"kind": "linear", "factor": "0.5", "max_percent": "15"}
                    if negotiated
                    else None,
                )
            )
        if cap is not None and rng.random() < 0.5:
            customer_levels.append(
                objective(
                    "customer",
                    provider,
                    "availability",
                    "Availability (shared at-risk pool)",
                    "uptime",
                    "99.95",
                    contract=contract.id,
                    rule={"kind": "pool", "allocation_percent": str(rng.choice([30, 40, 50]))},
                )
            )

        # Contract-service objectives: overrides, removals and an extra lte-tiered count.
        effective_by_cs: dict[int, dict[str, Objective]] = {}
        for cs, service, _fee in contract.services:
            own: list[Objective] = []
            base = by_service[service]
            roll = rng.random()
            if roll < 0.12:
                rule = (
                    {"kind": "pool", "allocation_percent": "25"}
                    if cap is not None and rng.random() < 0.5
                    else {"kind": "flat", "percent": str(rng.choice([3, 5, 8]))}
                )
                own.append(
                    objective(
                        "contract_service",
                        provider,
                        base.key,
                        f"{base.name} (negotiated)",
                        base.indicator,
                        base.target,
                        comparator=base.comparator,
                        contract=contract.id,
                        service=service,
                        threshold=base.threshold,
                        threshold_comparator=base.threshold_comparator,
                        rule=rule,
                    )
                )
            elif roll < 0.17:
                own.append(
                    objective(
                        "contract_service",
                        provider,
                        "availability",
                        "Availability (best effort, no objective)",
                        "uptime",
                        "99",
                        contract=contract.id,
                        service=service,
                        enabled=False,
                    )
                )
            if rng.random() < 0.05 and base.key != "failed-reports":
                own.append(
                    objective(
                        "contract_service",
                        provider,
                        "failed-reports",
                        "Failed report runs",
                        "count",
                        "2",
                        comparator="lte",
                        contract=contract.id,
                        service=service,
                        rule={
                            "kind": "tiered",
                            "tiers": [
                                {"bound": "2", "percent": "5"},
                                {"bound": "5", "percent": "15"},
                            ],
                        },
                    )
                )
            # Least to most specific: later entries win; a disabled one removes its key.
            effective: dict[str, Objective] = {}
            for candidate in corporate[provider] + [base] + customer_levels + own:
                effective[candidate.key] = candidate
            effective_by_cs[cs] = {k: o for k, o in effective.items() if o.enabled}

        if status == "draft":
            continue  # nothing is measured, and nothing happens, before a contract is in force
        for cs, _service, _fee in contract.services:
            for key in sorted(effective_by_cs[cs]):
                if effective_by_cs[cs][key].indicator != "uptime":
                    book.pairs.append((cs, key, effective_by_cs[cs][key], contract))
        first_incident, first_lapse = len(book.incidents), len(book.lapses)

        # Responsibilities linked to the objectives they affect, with lapses.
        in_force = {o.id: o for eff in effective_by_cs.values() for o in eff.values()}
        linked = sorted(
            oid for oid, o in in_force.items() if o.key in ("availability", "support-response")
        )
        for title, description in rng.sample(RESPONSIBILITIES, rng.randint(1, 2)):
            responsibility = len(book.responsibilities) + 1
            book.responsibilities.append((responsibility, contract.id, title, description))
            for oid in linked:
                book.responsibility_links.append(
                    (len(book.responsibility_links) + 1, responsibility, oid)
                )
            for month in months:
                if rng.random() < 0.15:
                    begin = _utc_at(month, tz) + timedelta(minutes=rng.randrange(0, 27 * 24 * 60))
                    end_at = begin + timedelta(minutes=rng.randrange(60, 720))
                    book.lapses.append([responsibility, begin, end_at])

        # Maintenance windows and incidents, month by month in the contract's zone.
        for month in months:
            month_start = _utc_at(month, tz)
            if rng.random() < 0.5:
                begin = month_start + timedelta(days=rng.randrange(0, 27), hours=rng.choice([1, 2]))
                end_at = begin + timedelta(minutes=rng.randrange(60, 241))
                only = contract.services[0][0] if rng.random() < 0.3 else None
                book.windows.append((contract.id, only, begin, end_at))
            for cs, _service, _fee in contract.services:
                if "availability" not in effective_by_cs[cs]:
                    continue
                for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
                    begin = month_start + timedelta(minutes=rng.randrange(0, 28 * 24 * 60))
                    end_at = begin + timedelta(minutes=rng.randrange(5, 600))
                    cause = INCIDENT_CAUSES[rng.randrange(len(INCIDENT_CAUSES))]
                    book.incidents.append((cs, begin, end_at, cause))

        # A third of the contract's lapses cover one of its provider incidents: relief (E6).
        provider_incidents = [i for i in book.incidents[first_incident:] if i[3] == "provider"]
        if provider_incidents:
            for lapse in book.lapses[first_lapse::3]:
                incident = provider_incidents[rng.randrange(len(provider_incidents))]
                lapse[1] = incident[1] - timedelta(minutes=30)
                lapse[2] = incident[2] + timedelta(minutes=30)
    return book


# --------------------------------------------------------------------------- samples

_TIME_OF_DAY = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(86400)]


def _value_pools(rng: random.Random, objective: Objective) -> tuple[list[str], list[str]]:
    """Text values that meet, and that miss, a threshold objective's threshold."""
    threshold = float(objective.threshold or 0)
    if objective.threshold_comparator == "gte":
        good = [f"{rng.uniform(threshold, threshold * 3):.2f}" for _ in range(512)]
        bad = [f"{rng.uniform(threshold * 0.2, threshold * 0.99):.2f}" for _ in range(512)]
    else:
        good = [f"{rng.uniform(threshold * 0.05, threshold):.2f}" for _ in range(512)]
        bad = [f"{rng.uniform(threshold * 1.01, threshold * 8):.2f}" for _ in range(512)]
    return good, bad


@dataclass
class SampleRun:
    """One (contract service, key) in one month: ``count`` samples from ``begin`` to ``end``."""

    cs: int
    key: str
    objective: Objective
    begin: int
    end: int
    count: int = 0


def plan_samples(spec: BookSpec, book: Book) -> list[SampleRun]:
    """How many samples each (contract service, key, month) gets, in the order written."""
    runs: list[SampleRun] = []
    months = spec.months_covered()
    for cs, key, objective, contract in book.pairs:
        for month in months:
            first = max(month, contract.start)
            last = _next_month(month) - timedelta(days=1)
            if contract.end is not None:
                last = min(last, contract.end)
            if last < first:
                continue
            begin = int(_at(first, contract.tz).timestamp())
            end = int(_at(last + timedelta(days=1), contract.tz).timestamp())
            runs.append(SampleRun(cs, key, objective, begin, end))
    if spec.samples is not None:
        weights = [run.end - run.begin for run in runs]
        total_weight = sum(weights) or 1
        assigned = 0
        for run, weight in zip(runs, weights, strict=True):
            run.count = spec.samples * weight // total_weight
            assigned += run.count
        for run in runs[: spec.samples - assigned]:
            run.count += 1
    else:
        full = 31 * 86400
        for run in runs:
            run.count = max(1, round(spec.samples_per_objective * (run.end - run.begin) / full))
    return runs


def sample_lines(spec: BookSpec, runs: Sequence[SampleRun]) -> Iterator[tuple[int, str]]:
    """COPY text lines, a run at a time: (samples in the chunk, text)."""
    rng = random.Random(spec.seed * 7919 + 1)
    days: dict[int, str] = {}
    pools: dict[int, tuple[list[str], list[str]]] = {}
    for run in runs:
        objective = run.objective
        count = run.count
        if not count:
            continue
        span = run.end - run.begin
        step = max(1, span // count)
        # A quarter of the pairs miss their objective, by a little or by a lot.
        breach = rng.random() < 0.25
        target = float(objective.target)
        if objective.indicator in ("ratio", "threshold"):
            if breach:
                share = max(0.0, target - rng.choice([0.3, 0.8, 2.0, 6.0])) / 100
            else:
                share = (target + (100 - target) * rng.uniform(0.2, 0.95)) / 100
        prefix = f"{run.cs}\t{run.key}\t"
        out = io.StringIO()
        write = out.write
        random_ = rng.random
        if objective.indicator == "threshold":
            if objective.id not in pools:
                pools[objective.id] = _value_pools(rng, objective)
            good, bad = pools[objective.id]
        elif objective.indicator == "count":
            if objective.comparator == "lte":
                total = rng.choice([0, 1, 2, 2, 3, 5]) if breach else rng.choice([0, 0, 1, 2])
            else:
                scale = rng.uniform(0.6, 0.95) if breach else rng.uniform(1.0, 1.4)
                total = int(target * scale)
            base, extra = divmod(total, count)
            extra_share = extra / count
        for i in range(count):
            at = run.begin + i * step + int(random_() * step)
            day_number = at // 86400
            day = days.get(day_number)
            if day is None:
                day = days[day_number] = (
                    datetime(1970, 1, 1) + timedelta(days=day_number)
                ).strftime("%Y-%m-%d ")
            stamp = day + _TIME_OF_DAY[at % 86400]
            if objective.indicator == "ratio":
                write(f"{prefix}{stamp}\t\\N\t{'t' if random_() < share else 'f'}\n")
            elif objective.indicator == "threshold":
                pool = good if random_() < share else bad
                write(f"{prefix}{stamp}\t{pool[int(random_() * 512)]}\t\\N\n")
            else:
                value = base + (1 if random_() < extra_share else 0)
                write(f"{prefix}{stamp}\t{value}\t\\N\n")
        yield count, out.getvalue()


# --------------------------------------------------------------------------- writing

MEASUREMENT_TABLE = "contracts_measurement"
TRUNCATED = [
    "auth_user",
    "contracts_organization",
    "contracts_measurement",
    "credits_statement",
    "credits_statementline",
    "credits_earlywarning",
    "credits_notification",
    "credits_delivery",
    "credits_emailcontent",
]


def _defaults_of(table: str, columns: Sequence[str]) -> tuple[list[str], tuple]:
    """The columns of ``table``'s model that ``columns`` leave out and that may not be
    null, with their model defaults: a book written before a field was added still fits
    its table (COPY knows no Django default)."""
    from django.apps import apps
    from django.db.models import NOT_PROVIDED

    for model in apps.get_models(include_auto_created=True):
        if model._meta.db_table == table:
            break
    else:
        return [], ()
    given = {name.strip('"') for name in columns}
    names, values = [], []
    for column in model._meta.concrete_fields:
        if column.column in given or column.null or column.primary_key:
            continue
        if column.db_default is not NOT_PROVIDED:
            continue  # the database fills it in
        if column.default is NOT_PROVIDED and not column.empty_strings_allowed:
            continue  # no default: the book must give it
        names.append(column.column)
        values.append(column.get_db_prep_save(column.get_default(), connection=_connection()))
    return names, tuple(values)


def _connection() -> Any:
    from django.db import connection

    return connection


def _copy_rows(cursor: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    if not rows:
        return
    extra, defaults = _defaults_of(table, columns)
    sql = f"COPY {table} ({', '.join([*columns, *extra])}) FROM STDIN"
    with cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row((*row, *defaults) if extra else row)


def _split_by_month(text: str) -> list[tuple[date, str]]:
    """COPY lines of one run (increasing instants, ``YYYY-MM-DD`` after the key) cut where
    the UTC month changes: a month in a contract's zone spans at most two UTC months."""
    first = text[: text.index("\n")].split("\t")[2]
    last = text.rstrip("\n").rsplit("\n", 1)[-1].split("\t")[2]
    start, end = date.fromisoformat(first[:10]), date.fromisoformat(last[:10])
    if start.replace(day=1) == end.replace(day=1):
        return [(start.replace(day=1), text)]
    cut = text.index(f"\t{end:%Y-%m}-")
    cut = text.rindex("\n", 0, cut) + 1
    return [(start.replace(day=1), text[:cut]), (end.replace(day=1), text[cut:])]


def copy_samples(
    cursor: Any,
    spec: BookSpec,
    runs: Sequence[SampleRun],
    on_progress: Callable[[int], None] = lambda done: None,
) -> int:
    """The samples of ``runs`` copied straight into their month partitions (each created
    when first needed), round the samples table's statement triggers: the caller rebuilds
    the hourly rollups once afterwards (``contracts_measurement_rollup_rebuild``), which
    costs less than the triggers' upsert of every batch. Returns how many samples."""
    partitions: dict[date, str] = {}
    buffers: dict[date, list[str]] = {}
    sizes: dict[date, int] = {}
    columns = "contract_service_id, key, observed_at, value, ok"

    def flush(month: date) -> None:
        with cursor.copy(f"COPY {partitions[month]} ({columns}) FROM STDIN") as copy:
            copy.write("".join(buffers[month]))
        buffers[month], sizes[month] = [], 0

    done = 0
    for count, text in sample_lines(spec, runs):
        for month, part in _split_by_month(text):
            if month not in partitions:
                cursor.execute("SELECT contracts_measurement_partition(%s)", [month])
                partitions[month] = cursor.fetchone()[0]
                buffers[month], sizes[month] = [], 0
            buffers[month].append(part)
            sizes[month] += part.count("\n")
            if sizes[month] >= 100_000:
                flush(month)
        done += count
        on_progress(done)
    for month, buffered in buffers.items():
        if buffered:
            flush(month)
    return done


def _reset_sequence(cursor: Any, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
    )


def _existing_tables(cursor: Any, names: Sequence[str]) -> list[str]:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    present = {row[0] for row in cursor.fetchall()}
    return [name for name in names if name in present]


def ensure_marker_table(cursor: Any) -> None:
    cursor.execute(
        f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} (name text PRIMARY KEY, params jsonb NOT "
        "NULL, summary jsonb NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())"
    )


def loaded_book(spec: BookSpec) -> dict[str, Any] | None:
    """The summary of the book in the database when it was generated from ``spec``."""
    from django.db import connection

    with connection.cursor() as cursor:
        ensure_marker_table(cursor)
        cursor.execute(f"SELECT params, summary FROM {MARKER_TABLE} WHERE name = 'book'")
        row = cursor.fetchone()
    if row is None:
        return None
    params, summary = (json.loads(v) if isinstance(v, str) else v for v in row)
    return summary if params == spec.key() else None


def write_book(
    spec: BookSpec,
    *,
    report: Callable[[str], None] = lambda line: None,
    show_progress: bool = False,
) -> dict[str, Any]:
    """Replace the book in the default database by the one ``spec`` describes.

    Runs in one transaction: an interrupted load leaves the previous book (and no
    marker). Returns the row counts, also stored in the ``bench_book`` marker table.
    """
    from django.db import connection, transaction

    from bench.common import progress
    from contracts.models import Contract

    validate(spec)
    started = time.perf_counter()
    book = build_book(spec)
    runs = plan_samples(spec, book)
    total_samples = sum(run.count for run in runs)
    if total_samples > MAX_SAMPLES:
        raise ArgumentError(f"{total_samples:,} samples asked for; the limit is {MAX_SAMPLES:,}")
    report(
        f"book planned in {time.perf_counter() - started:.1f} s: {len(book.contracts):,} "
        f"contracts, {total_samples:,} samples"
    )
    now = datetime.now(UTC)
    # COPY knows no model defaults: the contracts' ticket priorities are the model's.
    priorities = json.dumps(Contract._meta.get_field("ticket_priorities").get_default())
    with transaction.atomic(), connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # the psycopg cursor: COPY lives there
        ensure_marker_table(cursor)
        cursor.execute(f"DELETE FROM {MARKER_TABLE}")
        tables = _existing_tables(cursor, TRUNCATED)
        cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")

        _copy_rows(
            cursor,
            "contracts_organization",
            ["id", "name", "slug", "kind", "created_at"],
            book.organizations,
        )
        _copy_rows(
            cursor,
            "auth_user",
            [
                "id", "password", "is_superuser", "username", "first_name", "last_name",
                "email", "is_staff", "is_active", "date_joined",
            ],
            book.users,
        )  # fmt: skip
        _copy_rows(
            cursor, "contracts_membership", ["id", "user_id", "organization_id", "role"],
            book.memberships,
        )  # fmt: skip
        _copy_rows(
            cursor,
            "contracts_service",
            ["id", "provider_id", "code", "name", "description"],
            book.services,
        )
        _copy_rows(
            cursor,
            "contracts_contract",
            [
                "id", "provider_id", "customer_id", "reference", "title", "currency",
                "start_date", "end_date", "status", "settlement_period", "timezone",
                "credit_cap_percent", "settlement_delay_days", "created_at", "ticket_priorities",
            ],
            [
                (
                    c.id, c.provider, c.customer, c.reference, c.title, c.currency, c.start,
                    c.end, c.status, c.period, c.tz, c.cap, c.delay, now, priorities,
                )
                for c in book.contracts
            ],
        )  # fmt: skip
        _copy_rows(
            cursor,
            "contracts_contractservice",
            ["id", "contract_id", "service_id", "fee"],
            [(cs, c.id, service, fee) for c in book.contracts for cs, service, fee in c.services],
        )
        _copy_rows(
            cursor,
            "contracts_servicelevel",
            [
                "id", "level", "provider_id", "contract_id", "service_id", "key", "name",
                "indicator", "comparator", "target", "threshold", "threshold_comparator",
                "enabled", "credit_rule", "priority",
            ],
            [
                (
                    o.id, o.level, o.provider, o.contract, o.service, o.key, o.name, o.indicator,
                    o.comparator, o.target, o.threshold, o.threshold_comparator, o.enabled,
                    None if o.rule is None else json.dumps(o.rule), "",
                )
                for o in book.objectives
            ],
        )  # fmt: skip
        _copy_rows(
            cursor,
            "contracts_responsibility",
            ["id", "contract_id", "title", "description"],
            book.responsibilities,
        )
        _copy_rows(
            cursor,
            "contracts_responsibility_service_levels",
            ["id", "responsibility_id", "servicelevel_id"],
            book.responsibility_links,
        )
        _copy_rows(
            cursor,
            "contracts_responsibilitylapse",
            ["responsibility_id", "start", '"end"', "note", "recorded_at"],
            [(r, s, e, "Recorded by the benchmark generator.", now) for r, s, e in book.lapses],
        )
        _copy_rows(
            cursor,
            "contracts_maintenancewindow",
            ["contract_id", "contract_service_id", "start", '"end"', "description"],
            [(c, cs, s, e, "Planned maintenance") for c, cs, s, e in book.windows],
        )
        _copy_rows(
            cursor,
            "contracts_incident",
            ["contract_service_id", "key", "started_at", "ended_at", "cause", "description"],
            [
                (cs, "availability", s, e, cause, f"{cause.replace('_', ' ')} outage")
                for cs, s, e, cause in book.incidents
            ],
        )
        for table in (
            "auth_user",
            "contracts_membership",
            "contracts_organization",
            "contracts_service",
            "contracts_contract",
            "contracts_contractservice",
            "contracts_servicelevel",
            "contracts_responsibility",
            "contracts_responsibility_service_levels",
        ):
            _reset_sequence(cursor, table)
        report(f"structure written in {time.perf_counter() - started:.1f} s")

        # Check the deferred foreign keys of the structure now: ALTER TABLE below refuses
        # to run while their trigger events are pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # The samples: without secondary indexes and foreign key, rebuilt once afterwards.
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
            "AND indexname NOT LIKE '%%_pkey'",
            [MEASUREMENT_TABLE],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [MEASUREMENT_TABLE],
        )
        foreign_keys = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
        for name, _definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {MEASUREMENT_TABLE} DROP CONSTRAINT "{name}"')
        loaded_at = time.perf_counter()
        shown = [0]

        def advanced(done: int) -> None:
            if show_progress and done - shown[0] >= 50_000:
                progress(done, total_samples, "samples")
                shown[0] = done

        done = copy_samples(cursor, spec, runs, advanced)
        if show_progress and total_samples:
            progress(total_samples, total_samples, "samples")
        copied = time.perf_counter() - loaded_at
        for _name, definition in indexes:
            # The samples are partitioned: a partitioned table's index is defined ON ONLY
            # the parent, and built like that it would cover no partition.
            cursor.execute(definition.replace(" ON ONLY ", " ON "))
        for name, definition in foreign_keys:
            cursor.execute(f'ALTER TABLE {MEASUREMENT_TABLE} ADD CONSTRAINT "{name}" {definition}')
        indexed = time.perf_counter() - loaded_at - copied
        if done:
            cursor.execute("SELECT contracts_measurement_rollup_rebuild('-infinity', 'infinity')")
        report(
            f"samples: {done:,} copied into month partitions in {copied:.1f} s "
            f"({done / copied if copied else 0:,.0f}/s), indexes rebuilt in {indexed:.1f} s, "
            f"rolled up in {time.perf_counter() - loaded_at - copied - indexed:.1f} s"
        )
        summary = {
            "organizations": len(book.organizations),
            "users": len(book.users),
            "services": len(book.services),
            "contracts": len(book.contracts),
            "active_contracts": sum(c.status == "active" for c in book.contracts),
            "contract_services": sum(len(c.services) for c in book.contracts),
            "service_levels": len(book.objectives),
            "responsibilities": len(book.responsibilities),
            "lapses": len(book.lapses),
            "maintenance_windows": len(book.windows),
            "incidents": len(book.incidents),
            "sampled_objectives": len(book.pairs),
            "samples": done,
            "contract_periods": contract_periods(book, spec),
            "first_day": spec.months_covered()[0].isoformat(),
            "last_day": (_next_month(spec.first_of_last_month()) - timedelta(days=1)).isoformat(),
        }
        cursor.execute(
            f"INSERT INTO {MARKER_TABLE} (name, params, summary) VALUES ('book', %s, %s)",
            [json.dumps(spec.key()), json.dumps(summary)],
        )
    with connection.cursor() as cursor:
        # Fresh statistics, or the planner guesses on a table it has never seen full.
        cursor.execute(f"ANALYZE {MEASUREMENT_TABLE}")
        cursor.execute("ANALYZE contracts_measurementrollup, contracts_thresholdrollup")
        cursor.execute("ANALYZE contracts_servicelevel, contracts_contractservice")
    report(f"book written in {time.perf_counter() - started:.1f} s")
    return summary


# --------------------------------------------------------------------------- command line


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # One readable line, not the usage block: the message says what to change.
        self.exit(2, f"{self.prog}: error: {message}\n")


def parse_args(argv: Sequence[str] | None = None) -> tuple[BookSpec, str | None]:
    parser = _Parser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--contracts", type=int, required=True)
    parser.add_argument("--months", type=int, default=1)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--samples-per-objective", type=int, help="per objective per month")
    group.add_argument("--samples", type=int, help="exactly this many in total")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--last-month", default="", help="YYYY-MM (default: the latest month entirely due)"
    )
    parser.add_argument(
        "--periods", default=",".join(PERIOD_KINDS), help="settlement periods to mix"
    )
    parser.add_argument("--all-active", action="store_true", help="no draft/ended contracts")
    parser.add_argument(
        "--first-customer-contracts",
        type=int,
        default=0,
        help="give the first customer this many contracts",
    )
    parser.add_argument("--database-url", help="default: $BENCH_DATABASE_URL or slaportal_bench")
    args = parser.parse_args(argv)
    spec = BookSpec(
        contracts=args.contracts,
        months=args.months,
        samples_per_objective=args.samples_per_objective or 0,
        samples=args.samples,
        seed=args.seed,
        last_month=args.last_month,
        periods=tuple(kind.strip() for kind in args.periods.split(",") if kind.strip()),
        all_active=args.all_active,
        first_customer_contracts=args.first_customer_contracts,
    )
    try:
        validate(spec)
        if args.database_url is not None:
            check_database_url(args.database_url)
    except ArgumentError as error:
        parser.error(str(error))
    return spec, args.database_url


def main(argv: Sequence[str] | None = None) -> None:
    import os

    from bench.common import DEFAULT_URL, machine, setup_django

    spec, url = parse_args(argv)
    url = url or os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    try:
        check_database_url(url)
    except ArgumentError as error:
        sys.stderr.write(f"python -m bench.generate: error: {error}\n")
        raise SystemExit(2) from None
    setup_django(url)
    print(f"machine: {machine()}")
    summary = write_book(spec, report=lambda line: print(line, flush=True), show_progress=True)
    print("book: " + ", ".join(f"{k} {v:,}" for k, v in summary.items() if isinstance(v, int)))


if __name__ == "__main__":
    main()
