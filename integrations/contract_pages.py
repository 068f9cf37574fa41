"""What the contract pages show of the integrations: which objectives a Prometheus pull
feeds and how its last pulls went (plugged into ``contracts.hooks`` when the app loads)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.urls import reverse

from contracts.hooks import ObjectiveFeed
from contracts.models import Contract, Organization
from contracts.querysets import may_edit
from integrations.models import PrometheusPull

if TYPE_CHECKING:
    from contracts.querysets import User


class PrometheusFeeds:
    indicators = PrometheusPull.INDICATORS

    def objective_feeds(
        self, contract: Contract, user: User
    ) -> dict[tuple[int, str], ObjectiveFeed]:
        pulls = (
            PrometheusPull.objects.visible_to(user)
            .filter(contract_service__contract=contract)
            .select_related("source")
        )
        editable = None
        feeds = {}
        for pull in pulls:
            if editable is None:
                editable = may_edit(user, contract.provider_id, kind=Organization.Kind.PROVIDER)
            feeds[(pull.contract_service_id, pull.key)] = ObjectiveFeed(
                source=pull.source.name,
                query=pull.query,
                enabled=pull.enabled,
                pulled_until=pull.pulled_until,
                last_success_at=pull.last_success_at,
                last_error=pull.last_error,
                failures=pull.failures,
                next_attempt_at=pull.next_attempt_at,
                samples_recorded=pull.samples_recorded,
                samples_refused=pull.samples_refused,
                last_refusal=pull.last_refusal,
                edit_url=(
                    reverse("prometheus-pull-edit", args=[contract.provider.slug, pull.pk])
                    if editable
                    else None
                ),
            )
        return feeds

    def new_feed_url(self, contract: Contract, user: User) -> str | None:
        if not may_edit(user, contract.provider_id, kind=Organization.Kind.PROVIDER):
            return None
        return reverse("prometheus-pull-create", args=[contract.provider.slug]) + "?"
