"""Terms over time: every amendment and correction of a contract's fees and objectives.

A fee or an objective's terms (target, comparator, threshold, credit rule) are versioned:
each change is a row here, never rewritten. An **amendment** takes effect from a period
start, so the periods before it keep the terms they were settled on; a **correction**
rewrites the version in force from its ``effective_from`` retroactively, so settling one of
its periods again issues a new revision. The row of kind ``original`` keeps the terms as
they were before the first change. Settlement reads, for each period, the latest row of
the version whose start is the latest at or before the period's start.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from contracts.models.contracts import Contract, ContractService
from contracts.models.objectives import ServiceLevel
from contracts.querysets import ContractScopedQuerySet


class TermsChangeQuerySet(ContractScopedQuerySet):
    pass


class TermsChange(models.Model):
    class Kind(models.TextChoices):
        ORIGINAL = "original", _("As first agreed")
        AMENDMENT = "amendment", _("Amendment (from a period start)")
        CORRECTION = "correction", _("Correction (retroactive)")

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="terms_changes")
    # Exactly one of them: the fee of a contract service, or an objective of the contract.
    contract_service = models.ForeignKey(
        ContractService,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="terms_changes",
    )
    service_level = models.ForeignKey(
        ServiceLevel, on_delete=models.CASCADE, null=True, blank=True, related_name="terms_changes"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The first day of the version this row sets; null: from the contract's start.
    effective_from = models.DateField(null=True, blank=True)
    terms = models.JSONField(
        help_text=_("The fee, or an objective's target, comparator, threshold, rule.")
    )
    note = models.TextField(blank=True)
    made_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    made_at = models.DateTimeField()

    objects = TermsChangeQuerySet.as_manager()

    class Meta:
        ordering = ["contract_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(contract_service__isnull=True, service_level__isnull=False)
                | Q(contract_service__isnull=False, service_level__isnull=True),
                name="terms_change_one_item",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["original", "amendment", "correction"]),
                name="terms_change_kind_valid",
            ),
            models.CheckConstraint(
                condition=~Q(kind="amendment") | Q(effective_from__isnull=False),
                name="terms_change_amendment_has_start",
            ),
            models.CheckConstraint(
                condition=~Q(kind="original") | Q(effective_from__isnull=True),
                name="terms_change_original_from_start",
            ),
        ]
        indexes = [models.Index(fields=["contract", "effective_from"])]

    def __str__(self) -> str:
        start = self.effective_from.isoformat() if self.effective_from else "the start"
        return f"{self.get_kind_display().split(' (')[0]} of {self.contract} from {start}"

    @property
    def item_label(self) -> str:
        if self.contract_service_id:
            return f"Fee of {self.contract_service.service.name}"
        return f"Objective {self.service_level.name}"


def version_in_force(changes: Sequence[TermsChange], day: date) -> TermsChange | None:
    """Among one item's changes (in id order), the row that states its terms on ``day``:
    the latest row of the version whose start is the latest at or before ``day``."""
    starts = [
        c.effective_from for c in changes if c.effective_from is None or c.effective_from <= day
    ]
    if not starts:
        return None
    start = max(starts, key=lambda value: (value is not None, value or date.min))
    return [c for c in changes if c.effective_from == start][-1]


def latest_version(changes: Sequence[TermsChange]) -> TermsChange:
    """Among one item's changes (in id order), the latest row of its latest version: what
    the item itself holds."""
    start = max((c.effective_from for c in changes), key=lambda v: (v is not None, v or date.min))
    return [c for c in changes if c.effective_from == start][-1]


def terms_timeline(contract: Contract) -> list[TermsChange]:
    """Every change of the contract's terms, oldest first, with what it changed."""
    return list(
        TermsChange.objects.filter(contract=contract)
        .select_related("contract_service__service", "service_level", "made_by")
        .order_by("id")
    )
