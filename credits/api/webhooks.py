"""Organisations' webhooks in the API, for their admins: several per organisation, each
with its URL, shape, secret (never shown) and topics; a test message; its delivery log."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from contracts.api.filters import by_id
from contracts.models import Organization
from credits import notify
from credits.models import Delivery
from credits.selectors.webhooks import webhook_deliveries
from people import services as people_services
from people.models import Webhook
from people.topics import TOPICS
from slaportal.api.fields import ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer
from slaportal.api.viewsets import ScopedViewSet


class WebhookSerializer(ValidatedModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(
        model=Organization, scope="editable", help_text="An organisation you administer."
    )
    secret = serializers.CharField(
        write_only=True,
        required=False,
        max_length=200,
        help_text="Key of the X-SLA-Signature HMAC; required when adding, kept when left out.",
    )
    topics = serializers.ListField(
        child=serializers.ChoiceField(choices=list(TOPICS.items())),
        required=False,
        help_text="The topics whose events it receives; empty: every event.",
    )
    immutable_fields = ("organization",)

    class Meta:
        model = Webhook
        fields = ["id", "organization", "name", "url", "format", "secret", "topics", "created_at"]

    def create(self, validated_data: dict[str, Any]) -> Webhook:
        return people_services.save_webhook(webhook=self._validated_instance, user=self.user)

    def update(self, instance: Webhook, validated_data: dict[str, Any]) -> Webhook:
        return people_services.save_webhook(webhook=self._validated_instance, user=self.user)


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "event_id",
            "recipient",
            "status",
            "attempts",
            "last_error",
            "created_at",
            "next_attempt_at",
            "sent_at",
        ]
        read_only_fields = fields


class WebhookFilter(filters.FilterSet):
    organization = by_id("organization_id", "The organisation whose webhooks to list.")

    class Meta:
        model = Webhook
        fields = ["organization"]


class WebhookViewSet(ScopedViewSet):
    """An organisation's webhooks: its admins (and operators) list, add, change and
    remove them, send a test message and read each one's delivery log. Nobody else
    finds them."""

    model = Webhook
    serializer_class = WebhookSerializer
    filterset_class = WebhookFilter
    create_policy = "org_admin"
    list_select_related = ("organization",)

    def perform_destroy(self, instance: Webhook) -> None:
        people_services.delete_webhook(webhook=instance, user=self.request.user)

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer},
        summary="Queue a test message to the webhook; its delivery joins the log.",
    )
    @action(detail=True, methods=["post"], filter_backends=[], pagination_class=None)
    def test(self, request: Request, pk: str | None = None) -> Response:
        delivery = notify.send_test_webhook(webhook=self.get_object())
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={200: DeliverySerializer(many=True)},
        summary="The webhook's delivery log, newest first: status, attempts, last error.",
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def deliveries(self, request: Request, pk: str | None = None) -> Response:
        page = self.paginate_queryset(webhook_deliveries(self.get_object()))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)
