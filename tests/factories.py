"""factory_boy factories for the domain."""

from datetime import date
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

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


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.test")
    password = factory.django.Password("correct horse battery staple")


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")
    kind = Organization.Kind.CUSTOMER


class ProviderFactory(OrganizationFactory):
    kind = Organization.Kind.PROVIDER
    name = factory.Sequence(lambda n: f"Provider {n}")
    slug = factory.Sequence(lambda n: f"provider-{n}")


class CustomerFactory(OrganizationFactory):
    kind = Organization.Kind.CUSTOMER
    name = factory.Sequence(lambda n: f"Customer {n}")
    slug = factory.Sequence(lambda n: f"customer-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    organization = factory.SubFactory(CustomerFactory)
    role = Membership.Role.VIEWER


class ServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Service

    provider = factory.SubFactory(ProviderFactory)
    code = factory.Sequence(lambda n: f"svc-{n}")
    name = factory.Sequence(lambda n: f"Service {n}")


class ContractFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contract

    provider = factory.SubFactory(ProviderFactory)
    customer = factory.SubFactory(CustomerFactory)
    reference = factory.Sequence(lambda n: f"C-{n:04d}")
    title = factory.Sequence(lambda n: f"Agreement {n}")
    currency = "EUR"
    start_date = date(2026, 1, 1)
    status = Contract.Status.ACTIVE
    settlement_period = Contract.Period.MONTH
    timezone = "UTC"


class ContractServiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContractService

    contract = factory.SubFactory(ContractFactory)
    service = factory.SubFactory(
        ServiceFactory, provider=factory.SelfAttribute("..contract.provider")
    )
    fee = Decimal("1000.00")


class ServiceLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceLevel

    level = ServiceLevel.Level.CORPORATE
    provider = factory.SubFactory(ProviderFactory)
    key = "availability"
    name = "Availability"
    indicator = ServiceLevel.Indicator.UPTIME
    comparator = ServiceLevel.Comparator.GTE
    target = Decimal("99.9")
    credit_rule = None


class ResponsibilityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Responsibility

    contract = factory.SubFactory(ContractFactory)
    title = "Name a representative"


class ResponsibilityLapseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponsibilityLapse

    responsibility = factory.SubFactory(ResponsibilityFactory)


class MaintenanceWindowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MaintenanceWindow

    contract = factory.SubFactory(ContractFactory)


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    contract_service = factory.SubFactory(ContractServiceFactory)
    cause = Incident.Cause.PROVIDER


def ticket_payload(cs, /, reference="INC-1", **fields):
    """One ticket as a ticket system sends it: a P1 answered in 10 minutes and resolved the
    same day after three hours waiting on the customer."""
    return {
        "contract_service": cs.pk,
        "reference": reference,
        "priority": "P1",
        "title": "Mail is down",
        "opened_at": "2026-11-03T10:00:00+01:00",
        "first_response_at": "2026-11-03T10:10:00+01:00",
        "resolved_at": "2026-11-03T16:30:00+01:00",
        "events": [
            {"at": "2026-11-03T10:00:00+01:00", "status": "open"},
            {"at": "2026-11-03T11:00:00+01:00", "status": "waiting_on_customer"},
            {"at": "2026-11-03T14:00:00+01:00", "status": "in_progress"},
            {"at": "2026-11-03T16:30:00+01:00", "status": "resolved"},
        ],
        **fields,
    }
