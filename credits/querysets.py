"""Scoping for the credits app: statements reach a contract; notifications a user."""

from __future__ import annotations

from typing import Any

from django.db import models

from contracts.querysets import ContractScopedQuerySet, is_anonymous


class StatementQuerySet(ContractScopedQuerySet):
    contract_path = "contract"


class StatementLineQuerySet(ContractScopedQuerySet):
    contract_path = "statement__contract"


class DisputeQuerySet(ContractScopedQuerySet):
    contract_path = "line__statement__contract"


class NotificationQuerySet(models.QuerySet):
    def visible_to(self, user: Any) -> NotificationQuerySet:
        """Everyone, operators included, reads only their own notifications."""
        if is_anonymous(user):
            return self.none()
        return self.filter(user_id=user.pk)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)
