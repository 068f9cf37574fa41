"""Scoping for the credits app: statements reach a contract; notifications a user."""

from __future__ import annotations

from datetime import date
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


def statement_disputes(*, open_only: bool, prefix: str = "") -> models.QuerySet:
    """Disputes on a line of the outer statement (``prefix`` reaches it): open ones only,
    or any."""
    dispute = apps.get_model("credits", "Dispute")
    disputes = dispute.objects.filter(line__statement_id=OuterRef(f"{prefix}pk"))
    return disputes.filter(status=dispute.Status.OPEN) if open_only else disputes


def breached_lines(prefix: str = "") -> models.QuerySet:
    """Lines of the outer statement whose objective missed its target (no data is not a
    miss: ``met`` is then null)."""
    return apps.get_model("credits", "StatementLine").objects.filter(
        statement_id=OuterRef(f"{prefix}pk"), met=False
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

    def with_credit(self) -> StatementQuerySet:
        """Statements with a payable credit: their credit total is above zero."""
        return self.filter(credit_total__gt=0)

    def without_credit(self) -> StatementQuerySet:
        return self.filter(credit_total=0)

    def disputed(self, *, open_only: bool = True) -> StatementQuerySet:
        """Statements with a dispute on a line: an open one, or any (``open_only=False``)."""
        return self.filter(Exists(statement_disputes(open_only=open_only)))

    def undisputed(self) -> StatementQuerySet:
        return self.filter(~Exists(statement_disputes(open_only=False)))

    def breached(self) -> StatementQuerySet:
        """Statements where at least one objective missed its target in the period."""
        return self.filter(Exists(breached_lines()))

    def not_breached(self) -> StatementQuerySet:
        return self.filter(~Exists(breached_lines()))

    def overlapping(self, start: date | None, end: date | None) -> StatementQuerySet:
        """Statements whose period overlaps the days from ``start`` to ``end`` (inclusive,
        either open): a weekly, monthly or quarterly period counts if any of its days is
        in the range."""
        statements = self
        if start is not None:
            statements = statements.filter(period_end__gte=start)
        if end is not None:
            statements = statements.filter(period_start__lte=end)
        return statements


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
