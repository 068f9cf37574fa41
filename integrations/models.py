"""What connects a provider's monitoring and ticket systems to the portal.

A ``Receiver`` is a URL with its own secret token that Alertmanager or a ticket system
posts to; an ``AlertMapping`` says which alerts count against which contract service's
uptime objective, and an ``AlertIncident`` remembers which incident an alert occurrence
became. A ``PrometheusSource`` is a Prometheus server and a ``PrometheusPull`` one query
pulled into an objective's samples. ``IntegrationEvent`` is the log shown on the
integrations page: what arrived, when, what it became, or why it was refused.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contracts.models import ContractService, Incident, Organization
from contracts.querysets import may_edit
from contracts.selectors import effective_service_level
from integrations.querysets import (
    AlertMappingQuerySet,
    IntegrationEventQuerySet,
    PrometheusPullQuerySet,
    PrometheusSourceQuerySet,
    ReceiverQuerySet,
)
from integrations.targets import base_url_refusal

# A label name as Prometheus defines it.
LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")
# Ticket systems whose own export the receiver reads, besides the portal's ticket shape.
TICKET_FORMATS = ("generic", "jira", "zammad")


def _provider_error(organization: Organization | None) -> str | None:
    if organization is not None and organization.kind != Organization.Kind.PROVIDER:
        return "Integrations belong to provider organisations."
    return None


def _contract_service_error(
    organization_id: int | None, contract_service: ContractService | None
) -> str | None:
    if contract_service is None or organization_id is None:
        return None
    if contract_service.contract.provider_id != organization_id:
        return "The contract service belongs to another provider's contract."
    return None


class Receiver(models.Model):
    """A URL that Alertmanager or a ticket system posts to, with its own secret token.

    Only a hash of the token is stored: it is shown once, when created or replaced.
    """

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", _("Alertmanager (alerts become incidents)")
        TICKETS = "tickets", _("Ticket system (tickets and their status changes)")

    class TicketFormat(models.TextChoices):
        GENERIC = "generic", _("The portal's ticket shape")
        JIRA = "jira", _("Jira Service Management webhook")
        ZAMMAD = "zammad", _("Zammad / osTicket-style JSON")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="integration_receivers"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200)
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    token_hint = models.CharField(
        max_length=8,
        blank=True,
        editable=False,
        help_text=_("The token's last characters, to recognise it."),
    )
    ticket_format = models.CharField(
        max_length=10, choices=TicketFormat.choices, default=TicketFormat.GENERIC
    )
    ticket_settings = models.JSONField(
        default=dict,
        blank=True,
        help_text='Jira and Zammad formats: {"contract_services": {"<project or group>": id}, '
        '"priorities": {...}, "statuses": {...}}.',
    )
    acting_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Ticket receivers write with this editor's rights."),
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ReceiverQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="integration_receiver_name_unique",
                violation_error_message="The organisation already has a receiver of this name.",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["alertmanager", "tickets"]),
                name="integration_receiver_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(ticket_format__in=list(TICKET_FORMATS)),
                name="integration_receiver_format_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.organization_id:
            problem = _provider_error(self.organization)
            if problem:
                errors["organization"] = problem
        if self.kind == self.Kind.TICKETS:
            if self.acting_user_id is None:
                errors["acting_user"] = "A ticket receiver writes as one of the provider's editors."
            elif self.organization_id and not may_edit(
                self.acting_user, self.organization_id, kind=Organization.Kind.PROVIDER
            ):
                errors["acting_user"] = f"{self.acting_user} may not write for {self.organization}."
            problem = ticket_settings_error(self.ticket_settings)
            if problem:
                errors["ticket_settings"] = problem
        elif self.ticket_settings:
            errors["ticket_settings"] = "Only ticket receivers have ticket settings."
        if errors:
            raise ValidationError(errors)


def ticket_settings_error(value: Any) -> str | None:
    """Why a ticket receiver's settings are not ``{"contract_services": {name: id},
    "priorities": {name: code}, "statuses": {name: status}}`` (each optional), or None."""
    if not isinstance(value, dict):
        return "An object with contract_services, priorities and statuses."
    unknown = set(value) - {"contract_services", "priorities", "statuses"}
    if unknown:
        return f"Unknown setting(s): {', '.join(sorted(map(str, unknown)))}."
    for name in ("contract_services", "priorities", "statuses"):
        part = value.get(name, {})
        if not isinstance(part, dict) or not all(isinstance(k, str) for k in part):
            return f"{name} maps names to values."
    for name, cs_id in value.get("contract_services", {}).items():
        if isinstance(cs_id, bool) or not isinstance(cs_id, int):
            return f"contract_services[{name!r}] must be a contract service id."
    for name, code in value.get("priorities", {}).items():
        if not isinstance(code, str) or not code:
            return f"priorities[{name!r}] must be a priority code such as P1."
    statuses = ("open", "in_progress", "waiting_on_customer", "resolved", "reopened")
    for name, status in value.get("statuses", {}).items():
        if status not in statuses:
            return f"statuses[{name!r}] must be one of {', '.join(statuses)}."
    return None


class AlertMapping(models.Model):
    """Alerts whose labels include every one of ``matchers`` count against the uptime
    objective ``key`` of ``contract_service``."""

    receiver = models.ForeignKey(Receiver, on_delete=models.CASCADE, related_name="mappings")
    matchers = models.JSONField(
        help_text='Labels an alert must carry, e.g. {"service": "internet-1g", '
        '"customer": "globex"}.'
    )
    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="alert_mappings"
    )
    key = models.SlugField(max_length=60, default="availability")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AlertMappingQuerySet.as_manager()

    class Meta:
        ordering = ["receiver_id", "pk"]

    def __str__(self) -> str:
        labels = ", ".join(f'{k}="{v}"' for k, v in sorted(self.matchers.items()))
        return f"{{{labels}}} → {self.key}"

    def matches(self, labels: dict[str, str]) -> bool:
        return all(labels.get(name) == value for name, value in self.matchers.items())

    def clean(self) -> None:
        errors: dict[str, str] = {}
        matchers = self.matchers
        if not isinstance(matchers, dict) or not matchers:
            errors["matchers"] = 'At least one label, e.g. {"service": "internet-1g"}.'
        elif not all(
            isinstance(k, str) and LABEL_NAME.match(k) and isinstance(v, str) and v
            for k, v in matchers.items()
        ):
            errors["matchers"] = (
                "Label names as Prometheus writes them (letters, digits, _), each with a "
                "non-empty text value."
            )
        if self.receiver_id and self.receiver.kind != Receiver.Kind.ALERTMANAGER:
            errors["receiver"] = "Only Alertmanager receivers have alert mappings."
        if self.contract_service_id and self.receiver_id:
            problem = _contract_service_error(self.receiver.organization_id, self.contract_service)
            if problem:
                errors["contract_service"] = problem
            elif self.key:
                objective = effective_service_level(self.contract_service, self.key)
                if objective is None:
                    errors["key"] = f"No objective {self.key!r} applies to this contract service."
                elif objective.indicator != "uptime":
                    errors["key"] = (
                        f"{self.key!r} is a {objective.indicator} objective; alerts become "
                        "incidents, which only uptime objectives count."
                    )
        if not errors and self.receiver_id and isinstance(matchers, dict):
            same = AlertMapping.objects.filter(
                receiver_id=self.receiver_id,
                contract_service_id=self.contract_service_id,
                key=self.key,
                matchers=matchers,
            ).exclude(pk=self.pk)
            if same.exists():
                errors["matchers"] = "The receiver already maps these labels to this objective."
        if errors:
            raise ValidationError(errors)


class AlertIncident(models.Model):
    """One occurrence of an alert (fingerprint and start) and the incident it became.

    ``ends_at`` stays empty while the alert fires; the incident then runs to the last time
    the portal knew it was firing.
    """

    mapping = models.ForeignKey(AlertMapping, on_delete=models.CASCADE, related_name="alerts")
    fingerprint = models.CharField(max_length=64)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        Incident, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    alertname = models.CharField(max_length=200, blank=True)
    last_seen_at = models.DateTimeField()

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["mapping", "fingerprint", "starts_at"], name="alert_incident_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["mapping", "fingerprint"], name="alert_incident_fingerprint"),
            models.Index(
                fields=["last_seen_at"], condition=Q(ends_at__isnull=True), name="alert_open"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alertname or self.fingerprint} from {self.starts_at:%Y-%m-%d %H:%M}"


class PrometheusSource(models.Model):
    """A Prometheus server (or anything answering its HTTP API, e.g. Thanos, Mimir)."""

    class Auth(models.TextChoices):
        NONE = "none", _("None")
        BEARER = "bearer", _("Bearer token")
        BASIC = "basic", _("User name and password")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="prometheus_sources"
    )
    name = models.CharField(max_length=200)
    base_url = models.URLField(help_text=_("e.g. https://prometheus.example.com"))
    auth = models.CharField(max_length=8, choices=Auth.choices, default=Auth.NONE)
    username = models.CharField(max_length=200, blank=True)
    secret_env = models.CharField(
        max_length=100,
        blank=True,
        help_text=_("The name of an environment variable holding the token or password."),
    )
    secret_encrypted = models.TextField(blank=True, editable=False)
    timeout_seconds = models.PositiveSmallIntegerField(
        default=10, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = PrometheusSourceQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"],
                name="prometheus_source_name_unique",
                violation_error_message="The organisation already has a source of this name.",
            ),
            models.CheckConstraint(
                condition=Q(auth__in=["none", "bearer", "basic"]),
                name="prometheus_source_auth_valid",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_env or self.secret_encrypted)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.organization_id:
            problem = _provider_error(self.organization)
            if problem:
                errors["organization"] = problem
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            errors["base_url"] = "An http:// or https:// address."
        elif self.base_url:
            refusal = base_url_refusal(self.base_url)
            if refusal:
                errors["base_url"] = refusal
        if self.secret_env and not ENV_NAME.match(self.secret_env):
            errors["secret_env"] = "An environment variable name such as PROMETHEUS_TOKEN."
        if self.secret_env and self.secret_encrypted:
            errors["secret_env"] = "Give the secret or the name of its variable, not both."
        if self.auth == self.Auth.NONE and self.has_secret:
            errors["auth"] = "Choose bearer or basic authentication for a secret."
        if self.auth != self.Auth.NONE and not self.has_secret:
            errors["auth"] = "This authentication needs a secret or the variable holding it."
        if self.auth == self.Auth.BASIC and not self.username:
            errors["username"] = "Basic authentication needs a user name."
        if self.auth != self.Auth.BASIC and self.username:
            errors["username"] = "Only basic authentication has a user name."
        if errors:
            raise ValidationError(errors)


class PrometheusPull(models.Model):
    """A PromQL query pulled on a schedule (``query_range``) into one objective's samples.

    ``pulled_until`` is the last evaluation time stored: the next pull starts one step
    later, so a missed run catches up and no point is pulled twice.
    """

    source = models.ForeignKey(PrometheusSource, on_delete=models.CASCADE, related_name="pulls")
    contract_service = models.ForeignKey(
        ContractService, on_delete=models.CASCADE, related_name="prometheus_pulls"
    )
    key = models.SlugField(max_length=60)
    query = models.TextField(
        help_text=_(
            "PromQL. A ratio objective needs 1 (ok) or 0, e.g. probe_success or "
            "`latency_seconds < bool 0.3`; threshold and count objectives take the value."
        )
    )
    step_seconds = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(10), MaxValueValidator(86_400)]
    )
    start_at = models.DateTimeField(help_text=_("The first evaluation time pulled."))
    enabled = models.BooleanField(default=True)
    pulled_until = models.DateTimeField(null=True, blank=True, editable=False)
    next_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    failures = models.PositiveIntegerField(default=0, editable=False)
    last_attempt_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_error = models.TextField(blank=True, editable=False)
    samples_recorded = models.BigIntegerField(default=0, editable=False)
    samples_refused = models.BigIntegerField(default=0, editable=False)
    last_refusal = models.TextField(blank=True, editable=False)

    # The objectives whose samples a query's values can be.
    INDICATORS = ("ratio", "threshold", "count")

    objects = PrometheusPullQuerySet.as_manager()

    class Meta:
        ordering = ["source_id", "contract_service_id", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["contract_service", "key"],
                name="prometheus_pull_one_per_objective",
                violation_error_message="This objective of the contract service is already "
                "pulled from Prometheus.",
            ),
        ]
        indexes = [models.Index(fields=["enabled", "next_attempt_at"], name="prometheus_due")]

    def __str__(self) -> str:
        return f"{self.key} ← {self.source}"

    @property
    def step(self) -> timedelta:
        return timedelta(seconds=self.step_seconds)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if not (self.query or "").strip():
            errors["query"] = "A PromQL query."
        elif "\x00" in self.query:
            errors["query"] = "Cannot contain NUL characters."
        if self.source_id and self.contract_service_id:
            problem = _contract_service_error(self.source.organization_id, self.contract_service)
            if problem:
                errors["contract_service"] = problem
            elif self.key:
                objective = effective_service_level(self.contract_service, self.key)
                if objective is None:
                    errors["key"] = f"No objective {self.key!r} applies to this contract service."
                elif objective.indicator not in self.INDICATORS:
                    errors["key"] = (
                        f"{self.key!r} is a {objective.indicator} objective; Prometheus samples "
                        "feed ratio, threshold and count objectives."
                    )
        if errors:
            raise ValidationError(errors)


class IntegrationEvent(models.Model):
    """One thing that arrived (or was pulled) and what became of it."""

    # The page shows an organisation's last 1,000 events; older ones are pruned.
    KEPT = 1_000

    class Channel(models.TextChoices):
        ALERTMANAGER = "alertmanager", _("Alertmanager")
        TICKETS = "tickets", _("Ticket system")
        PROMETHEUS = "prometheus", _("Prometheus")
        OPENSLO = "openslo", _("OpenSLO")

    class Outcome(models.TextChoices):
        RECORDED = "recorded", _("Recorded")
        PARTLY = "partly", _("Partly recorded")
        UNCHANGED = "unchanged", _("Nothing new")
        REFUSED = "refused", _("Refused")
        FAILED = "failed", _("Failed")

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="integration_events"
    )
    channel = models.CharField(max_length=16, choices=Channel.choices)
    receiver = models.ForeignKey(
        Receiver, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    pull = models.ForeignKey(
        PrometheusPull, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    test = models.BooleanField(default=False, help_text=_("Sent with the page's test button."))
    summary = models.CharField(max_length=300, help_text=_("What arrived."))
    result = models.TextField(blank=True, help_text=_("What it became."))
    refusals = models.JSONField(default=list, blank=True, help_text=_("What was refused and why."))

    objects = IntegrationEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["organization", "-at"], name="integration_event_recent")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.get_outcome_display().lower()}: {self.summary}"
