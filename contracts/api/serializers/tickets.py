"""Tickets: as read with their status events, as posted in a batch, and the answers to
a batch."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from contracts.models import Ticket, TicketEvent
from contracts.services import MAX_BATCH


class TicketEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = TicketEvent
        fields = ["at", "status"]
        read_only_fields = fields


class TicketSerializer(serializers.ModelSerializer):
    contract = serializers.IntegerField(source="contract_service.contract_id", read_only=True)
    events = TicketEventSerializer(many=True, read_only=True, help_text="Oldest first.")

    class Meta:
        model = Ticket
        fields = [
            "id",
            "contract",
            "contract_service",
            "reference",
            "priority",
            "title",
            "opened_at",
            "first_response_at",
            "resolved_at",
            "updated_at",
            "events",
        ]
        read_only_fields = fields


# Inline: the read serializer's choice set under the same field name, which spectacular
# would otherwise name twice.
@extend_schema_field({"type": "string", "enum": TicketEvent.Status.values})
class TicketStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(choices=TicketEvent.Status.choices, **kwargs)


class TicketEventInputSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset.")
    status = TicketStatusField()


class TicketInputSerializer(serializers.Serializer):
    """One ticket as posted; the whole batch is validated by ``record_tickets``."""

    contract_service = serializers.IntegerField()
    reference = serializers.CharField(
        max_length=100,
        help_text="The ticket's key in the ticket system: a ticket sent "
        "again with the same reference replaces the stored one.",
    )
    priority = serializers.CharField(max_length=20, help_text="One of the contract's codes.")
    title = serializers.CharField(max_length=300, required=False, allow_blank=True)
    opened_at = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset.")
    first_response_at = serializers.DateTimeField(required=False, allow_null=True)
    resolved_at = serializers.DateTimeField(
        required=False, allow_null=True, help_text="The final resolution; null while open."
    )
    events = TicketEventInputSerializer(
        many=True,
        required=False,
        help_text="The ticket's full status history, oldest first, none before opened_at; "
        "it replaces the stored history.",
    )


class TicketBatchSerializer(serializers.Serializer):
    """The JSON body of a POST: one ticket, or a list of up to 10,000 (schema only)."""


class TicketBatchExtension(OpenApiSerializerExtension):
    target_class = "contracts.api.serializers.tickets.TicketBatchSerializer"

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        item = auto_schema.resolve_serializer(TicketInputSerializer, direction).ref
        return {
            "oneOf": [
                item,
                {"type": "array", "items": item, "minItems": 1, "maxItems": MAX_BATCH},
            ]
        }


class TicketsRecordedSerializer(serializers.Serializer):
    created = serializers.IntegerField(help_text="Tickets new to the portal.")
    updated = serializers.IntegerField(help_text="Stored tickets whose fields or events changed.")
    unchanged = serializers.IntegerField(help_text="Tickets sent again exactly as stored.")


class TicketErrorSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the item in the batch, from 0.")
    line = serializers.IntegerField(
        required=False, help_text="CSV bodies only: the line of the file, the header being 1."
    )
    field = serializers.CharField(help_text="e.g. priority, or events[2].at for an event.")
    message = serializers.CharField()


class TicketsRejectedSerializer(serializers.Serializer):
    """400 for a batch: every bad item; nothing of the batch was stored."""

    errors = TicketErrorSerializer(many=True, required=False)
    detail = serializers.CharField(required=False, help_text="The body could not be read.")
