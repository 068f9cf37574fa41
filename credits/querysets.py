"""Scoping for the credits app: statements reach a contract; notifications a user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.db import models
from django.db.models import Exists, OuterRef

from contracts.querysets import ContractScopedQuerySet, is_anonymous

if TYPE_CHECKING:
    from contracts.querysets import User


def later_revisions(prefix: str = "") -> models.QuerySet:
    """Statements that supersede the outer statement (``prefix`` reaches it from the outer
    row, e.g. ``"statement__"`` from a line): a later revision of the same period."""
    # Looked up by name: the models module builds its managers from this one.
    statements = apps.get_model("credits", "Statement").objects
    return statements.filter(
        contract_id=OuterRef(f"{prefix}contract_id"),
        period_start=OuterRef(f"{prefix}period_start"),
        revision__gt=OuterRef(f"{prefix}revision"),
    )


class StatementQuerySet(ContractScopedQuerySet):
    """A later revision replaces the earlier one of its period, which stays readable."""

    contract_path = "contract"

    def latest_revisions(self) -> StatementQuerySet:
        """Only the latest revision of each (contract, period): the ones that count."""
        return self.filter(~Exists(later_revisions()))

    def superseded(self) -> StatementQuerySet:
        return self.filter(Exists(later_revisions()))

    def with_superseded(self) -> StatementQuerySet:
        """Annotate ``superseded``: a later revision exists for the same period."""
        return self.annotate(superseded=Exists(later_revisions()))


class StatementLineQuerySet(ContractScopedQuerySet):
    contract_path = "statement__contract"


class DisputeQuerySet(ContractScopedQuerySet):
    contract_path = "line__statement__contract"


class ClaimQuerySet(ContractScopedQuerySet):
    contract_path = "contract_service__contract"


class OpenPeriodProgressQuerySet(ContractScopedQuerySet):
    contract_path = "contract_service__contract"


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user: User | None) -> NotificationQuerySet:
        """Everyone, operators included, reads only their own notifications."""
        if is_anonymous(user):
            return self.none()
        return self.filter(user_id=user.pk)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)
