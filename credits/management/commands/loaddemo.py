"""Loads the demo book and settles its closed periods: idempotent, so running it twice
changes nothing. (A command of the credits app because it settles.)

Five stories: an ISP selling to all its customers, a customer-based agreement for a
reporting service, an internal marketing → sales agreement, a multi-level book in
which corporate, service, customer and contract-service objectives override each other,
and a service desk whose ticket clocks run in office hours (``_demo_service_desk``).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from contracts.models import (
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from contracts.services import record_measurements
from credits.management.commands._demo_service_desk import load_service_desk
from credits.settlement import due_periods, settle_period, warn_open_periods

DEMO_PASSWORD = "demo"
LOGINS = [
    ("admin", "operator (staff): everything, plus /admin/"),
    ("provider", "provider editor at Northwind ISP, Contoso Reporting and Fabrikam Service Desk"),
    ("customer", "customer user at Globex Retail"),
]

TIERS_UPTIME = {
    "kind": "tiered",
    "tiers": [
        {"bound": "99.9", "percent": "10"},
        {"bound": "99.0", "percent": "30"},
        {"bound": "95.0", "percent": "100"},
    ],
}


class Command(BaseCommand):
    help = "Load the demo book (idempotent) and print the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            counts = self._load()
        self.stdout.write(
            "Demo book ready: "
            + ", ".join(f"{n} {what}" for what, n in counts.items())
            + f". Logins (password '{DEMO_PASSWORD}'):"
        )
        for username, role in LOGINS:
            self.stdout.write(f"  {username:<9} {role}")

    def _org(self, slug: str, name: str, kind: str) -> Organization:
        org, _ = Organization.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind}
        )
        return org

    def _user(self, username: str, **extra: Any) -> Any:
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"email": f"{username}@demo.example", **extra}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        return user

    def _member(self, user: Any, org: Organization, role: str) -> None:
        Membership.objects.get_or_create(user=user, organization=org, defaults={"role": role})

    def _service(self, provider: Organization, code: str, name: str) -> Service:
        return Service.objects.get_or_create(provider=provider, code=code, defaults={"name": name})[
            0
        ]

    def _contract(self, provider: Organization, reference: str, **fields: Any) -> Contract:
        contract, created = Contract.objects.get_or_create(
            provider=provider, reference=reference, defaults=fields
        )
        if created:
            contract.full_clean()
        return contract

    def _contract_service(self, contract: Contract, service: Service, fee: str) -> ContractService:
        return ContractService.objects.get_or_create(
            contract=contract, service=service, defaults={"fee": Decimal(fee)}
        )[0]

    def _objective(self, *, provider: Organization, key: str, **fields: Any) -> ServiceLevel:
        lookup = {
            "provider": provider,
            "key": key,
            "level": fields["level"],
            "contract": fields.get("contract"),
            "service": fields.get("service"),
        }
        existing = ServiceLevel.objects.filter(**lookup).first()
        if existing:
            return existing
        objective = ServiceLevel(**lookup, **{k: v for k, v in fields.items() if k not in lookup})
        objective.full_clean()
        objective.save()
        return objective

    def _load(self) -> dict[str, int]:
        today = timezone.localdate()
        # The book starts about four months back and samples cover all of it, so every
        # settled period has data and the credits tell the stories below.
        start = (today - timedelta(days=110)).replace(day=1)
        first_monday = start + timedelta(days=-start.weekday() % 7)

        admin = self._user("admin", is_staff=True, is_superuser=True)
        provider_user = self._user("provider", first_name="Pat", last_name="Provider")
        customer_user = self._user("customer", first_name="Casey", last_name="Customer")
        sales_user = self._user("sales", first_name="Sam", last_name="Sales")
        marketing_user = self._user("marketing", first_name="Morgan", last_name="Marketing")
        assert admin.is_staff

        isp = self._org("northwind", "Northwind ISP", "provider")
        reporting = self._org("contoso-reporting", "Contoso Reporting", "provider")
        marketing = self._org("marketing", "Marketing department", "provider")
        fabrikam = self._org("fabrikam", "Fabrikam Service Desk", "provider")
        globex = self._org("globex", "Globex Retail", "customer")
        initech = self._org("initech", "Initech Finance", "customer")
        sales = self._org("sales", "Sales department", "customer")
        self._member(provider_user, isp, "editor")
        self._member(provider_user, reporting, "editor")
        self._member(provider_user, fabrikam, "editor")
        self._member(customer_user, globex, "editor")
        self._member(marketing_user, marketing, "editor")
        self._member(sales_user, sales, "editor")

        # Story 1 and 4: the ISP, with objectives at all four levels.
        fibre = self._service(isp, "internet-1g", "Internet 1G")
        broadband = self._service(isp, "internet-100m", "Internet 100M")
        self._objective(
            provider=isp,
            key="availability",
            level="corporate",
            name="Availability",
            indicator="uptime",
            target=Decimal("99.9"),
            credit_rule=TIERS_UPTIME,
        )
        self._objective(
            provider=isp,
            key="resolution-30min",
            level="corporate",
            name="Problem resolution time (minutes)",
            indicator="threshold",
            target=Decimal("95"),
            threshold=Decimal("30"),
            threshold_comparator="lte",
            credit_rule={"kind": "per_step", "step": "1", "percent": "2", "max_percent": "10"},
        )
        self._objective(
            provider=isp,
            key="download-speed",
            level="service",
            service=fibre,
            name="Download speed (Mbit/s)",
            indicator="threshold",
            target=Decimal("95"),
            threshold=Decimal("900"),
            threshold_comparator="gte",
            credit_rule={"kind": "linear", "factor": "1", "max_percent": "25"},
        )
        self._objective(
            provider=isp,
            key="download-speed",
            level="service",
            service=broadband,
            name="Download speed (Mbit/s)",
            indicator="threshold",
            target=Decimal("90"),
            threshold=Decimal("90"),
            threshold_comparator="gte",
            credit_rule={"kind": "flat", "percent": "5"},
        )
        nw_globex = self._contract(
            isp,
            "NW-GLOBEX",
            customer=globex,
            title="Internet access for Globex stores",
            currency="EUR",
            start_date=start,
            status="active",
            settlement_period="month",
            timezone="Europe/Berlin",
            credit_cap_percent=Decimal("20"),
        )
        nw_initech = self._contract(
            isp,
            "NW-INITECH",
            customer=initech,
            title="Dual-line internet for Initech",
            currency="USD",
            start_date=start,
            status="active",
            settlement_period="month",
            timezone="America/New_York",
            credit_cap_percent=Decimal("15"),
        )
        self._contract(
            isp,
            "NW-GLOBEX-2",
            customer=globex,
            title="Warehouse link (in negotiation)",
            currency="EUR",
            start_date=today,
            status="draft",
            settlement_period="month",
            timezone="Europe/Berlin",
        )
        g_fibre = self._contract_service(nw_globex, fibre, "3000.00")
        i_fibre = self._contract_service(nw_initech, fibre, "2500.00")
        i_broadband = self._contract_service(nw_initech, broadband, "400.00")
        # Multi-level: Initech negotiated a stricter availability for the whole contract,
        # a stricter one still for its fibre line, and no resolution objective on broadband.
        self._objective(
            provider=isp,
            key="availability",
            level="customer",
            contract=nw_initech,
            name="Availability",
            indicator="uptime",
            target=Decimal("99.95"),
            credit_rule=TIERS_UPTIME
            | {"tiers": [{"bound": "99.95", "percent": "10"}, *TIERS_UPTIME["tiers"][1:]]},
        )
        self._objective(
            provider=isp,
            key="availability",
            level="contract_service",
            contract=nw_initech,
            service=fibre,
            name="Availability",
            indicator="uptime",
            target=Decimal("99.99"),
            credit_rule={
                "kind": "tiered",
                "tiers": [
                    {"bound": "99.99", "percent": "10"},
                    {"bound": "99.0", "percent": "30"},
                    {"bound": "95.0", "percent": "100"},
                ],
            },
        )
        self._objective(
            provider=isp,
            key="resolution-30min",
            level="contract_service",
            contract=nw_initech,
            service=broadband,
            name="Problem resolution time (minutes)",
            indicator="threshold",
            target=Decimal("95"),
            threshold=Decimal("30"),
            threshold_comparator="lte",
            enabled=False,
        )
        self._objective(
            provider=isp,
            key="support-response",
            level="customer",
            contract=nw_globex,
            name="Support answers within an hour",
            indicator="ratio",
            target=Decimal("98"),
            credit_rule={"kind": "per_step", "step": "1", "percent": "1", "max_percent": "5"},
        )

        # Story 2: a customer-based agreement for a reporting service.
        weekly_reports = self._service(reporting, "weekly-reports", "Weekly sales reports")
        cr_globex = self._contract(
            reporting,
            "CR-GLOBEX",
            customer=globex,
            title="Sales reporting for Globex",
            currency="EUR",
            start_date=first_monday,
            status="active",
            settlement_period="week",
            timezone="Europe/Berlin",
        )
        g_reports = self._contract_service(cr_globex, weekly_reports, "2000.00")
        on_time = self._objective(
            provider=reporting,
            key="report-delivery",
            level="customer",
            contract=cr_globex,
            name="Reports delivered on time",
            indicator="ratio",
            target=Decimal("99.5"),
            credit_rule={"kind": "per_step", "step": "0.5", "percent": "1", "max_percent": None},
        )
        self._objective(
            provider=reporting,
            key="failed-reports",
            level="customer",
            contract=cr_globex,
            name="Failed reports",
            indicator="count",
            comparator="lte",
            target=Decimal("2"),
            credit_rule={"kind": "flat", "percent": "5"},
        )
        representative, created = Responsibility.objects.get_or_create(
            contract=cr_globex,
            title="Name a representative",
            defaults={
                "description": "The customer provides a representative to resolve problems "
                "with the provider within one working day."
            },
        )
        if created:
            representative.service_levels.add(on_time)

        # Story 3: an internal agreement, marketing → sales.
        leads = self._service(marketing, "lead-generation", "Lead generation")
        mk_sales = self._contract(
            marketing,
            "MKT-SALES",
            customer=sales,
            title="Qualified leads for the sales team",
            currency="EUR",
            start_date=first_monday,
            status="active",
            settlement_period="week",
            timezone="Europe/London",
        )
        m_leads = self._contract_service(mk_sales, leads, "5000.00")
        self._objective(
            provider=marketing,
            key="qualified-leads",
            level="customer",
            contract=mk_sales,
            name="Qualified leads",
            indicator="count",
            comparator="gte",
            target=Decimal("40"),
            credit_rule={"kind": "linear", "factor": "0.5", "max_percent": "20"},
        )

        samples = 0
        rng = random.Random(2026)
        now = timezone.now()
        since = timezone.make_aware(datetime.combine(start, datetime.min.time()))
        if not Incident.objects.filter(contract_service__contract__provider=isp).exists():
            self._isp_events(rng, since, now, nw_globex, g_fibre, i_fibre, i_broadband)
            for cs, speed in ((g_fibre, 900), (i_fibre, 900), (i_broadband, 90)):
                samples += self._threshold_samples(rng, cs, "download-speed", speed, since, now)
            for cs in (g_fibre, i_fibre):
                samples += self._resolution_samples(rng, cs, since, now)
            samples += self._ratio_samples(rng, g_fibre, "support-response", 0.985, since, now, 6)
        if not g_reports.measurements.exists():
            samples += self._ratio_samples(rng, g_reports, "report-delivery", 0.993, since, now, 2)
            samples += self._count_samples(rng, g_reports, "failed-reports", 0.2, since, now)
            lapse_start = now - timedelta(days=20)
            ResponsibilityLapse.objects.get_or_create(
                responsibility=representative,
                start=lapse_start,
                defaults={
                    "end": lapse_start + timedelta(days=2),
                    "note": "No representative named while the usual one was on leave.",
                },
            )
        if not m_leads.measurements.exists():
            samples += self._count_samples(rng, m_leads, "qualified-leads", 5.75, since, now)

        # Story 5: a service desk measured in Berlin office hours, with a month of tickets.
        desk = load_service_desk(provider=fabrikam, customer=globex, editor=provider_user, now=now)

        # Settle every closed period of the demo contracts, so the demo shows statements.
        # Only periods without a statement are settled, so a second run changes nothing;
        # only each contract's latest period is announced, so the backfill does not flood
        # the demo inboxes.
        demo = {c.pk: c for c in (nw_globex, nw_initech, cr_globex, mk_sales, desk.contract)}
        due = list(due_periods(now, ignore_delay=True, contract_ids=list(demo)))
        latest = dict(due)  # oldest first, so each contract keeps its latest period
        for contract_id, period_start in due:
            settle_period(
                contract=demo[contract_id],
                period_start=period_start,
                now=now,
                announce=period_start == latest[contract_id],
            )
        # The open periods as the dashboard, the contract list and the objective pages show
        # them, measured now rather than at the first sweep after start.
        warn_open_periods(list(demo.values()), now=now)
        return {
            "organisations": Organization.objects.count(),
            "contracts": Contract.objects.count(),
            "objectives": ServiceLevel.objects.count(),
            "new samples": samples,
            "new tickets": desk.new_tickets,
        }

    def _isp_events(self, rng: random.Random, since: datetime, now: datetime, *args: Any) -> None:
        contract, g_fibre, i_fibre, i_broadband = args
        for cs, minutes in ((g_fibre, 95), (i_fibre, 30), (i_broadband, 400), (g_fibre, 20)):
            began = since + timedelta(hours=rng.randint(24, 2000))
            Incident.objects.create(
                contract_service=cs,
                started_at=began,
                ended_at=began + timedelta(minutes=minutes),
                cause="provider",
                description="Fibre cut at the exchange" if minutes > 60 else "Router restart",
            )
        began = since + timedelta(days=30)
        Incident.objects.create(
            contract_service=g_fibre,
            started_at=began,
            ended_at=began + timedelta(minutes=500),
            cause="customer",
            description="Customer powered down the on-site router",
        )
        window = since + timedelta(days=45, hours=2)
        MaintenanceWindow.objects.create(
            contract=contract,
            start=window,
            end=window + timedelta(hours=2),
            description="Core router firmware upgrade",
        )

    def _store(self, items: list[dict[str, Any]]) -> int:
        stored = 0
        for offset in range(0, len(items), 10_000):
            stored += record_measurements(items=items[offset : offset + 10_000])
        return stored

    def _hours(self, since: datetime, now: datetime, every: int) -> list[datetime]:
        moments, moment = [], since
        while moment < now:
            moments.append(moment)
            moment += timedelta(hours=every)
        return moments

    def _threshold_samples(
        self,
        rng: random.Random,
        cs: ContractService,
        key: str,
        nominal: int,
        since: datetime,
        now: datetime,
    ) -> int:
        items = [
            {
                "contract_service": cs.pk,
                "key": key,
                "observed_at": at,
                # Mostly above the promised speed, with the odd slow hour.
                "value": (
                    Decimal(nominal)
                    * Decimal(
                        rng.uniform(1.0, 1.12) if rng.random() < 0.965 else rng.uniform(0.8, 0.99)
                    )
                ).quantize(Decimal("0.01")),
            }
            for at in self._hours(since, now, 3)
        ]
        return self._store(items)

    def _resolution_samples(
        self, rng: random.Random, cs: ContractService, since: datetime, now: datetime
    ) -> int:
        items = [
            {
                "contract_service": cs.pk,
                "key": "resolution-30min",
                "observed_at": at,
                "value": Decimal(
                    rng.randint(4, 29) if rng.random() < 0.955 else rng.randint(31, 90)
                ),
            }
            for at in self._hours(since, now, 7)
        ]
        return self._store(items)

    def _ratio_samples(
        self,
        rng: random.Random,
        cs: ContractService,
        key: str,
        p_ok: float,
        since: datetime,
        now: datetime,
        every: int,
    ) -> int:
        items = [
            {"contract_service": cs.pk, "key": key, "observed_at": at, "ok": rng.random() < p_ok}
            for at in self._hours(since, now, every)
        ]
        return self._store(items)

    def _count_samples(
        self,
        rng: random.Random,
        cs: ContractService,
        key: str,
        per_day: float,
        since: datetime,
        now: datetime,
    ) -> int:
        items = []
        for at in self._hours(since, now, 24):
            for n in range(int(per_day) + (1 if rng.random() < per_day % 1 else 0)):
                items.append(
                    {
                        "contract_service": cs.pk,
                        "key": key,
                        "observed_at": at + timedelta(minutes=n),
                        "value": 1,
                    }
                )
        return self._store(items) if items else 0
