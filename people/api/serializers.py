"""Invitations, notification choices and API tokens as the API shows and takes them."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import serializers

from contracts.models.parties import _timezones
from people.models import Invitation
from people.topics import CHANNELS, TOPICS
from slaportal.api.fields import StrictIntegerField


class InvitationSerializer(serializers.ModelSerializer):
    organization_name = serializers.CharField(source="organization.name", read_only=True)
    state = serializers.SerializerMethodField(
        help_text="pending, accepted, revoked or expired (pending past expires_at)."
    )
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    accepted_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "organization",
            "organization_name",
            "invited_by_organization",
            "email",
            "role",
            "state",
            "created_by",
            "created_at",
            "sent_at",
            "expires_at",
            "accepted_by",
            "accepted_at",
            "revoked_at",
        ]
        read_only_fields = fields

    def get_state(self, invitation: Invitation) -> str:
        now = self.context.setdefault("_now", timezone.now())
        return invitation.state(now)


class InvitationRequestSerializer(serializers.Serializer):
    # Either an existing organisation (with a role) or a new customer by name (its first
    # admin, invited on behalf of the provider).
    organization = StrictIntegerField(
        required=False, help_text="The organisation to join (one you administer or serve)."
    )
    customer_name = serializers.CharField(
        required=False,
        max_length=200,
        help_text="Instead of organization: a new customer organisation, created now.",
    )
    provider = StrictIntegerField(
        required=False, help_text="With customer_name: the provider inviting its customer."
    )
    email = serializers.CharField(max_length=254)
    role = serializers.CharField(
        required=False,
        max_length=20,
        help_text="admin, editor or viewer; a new customer's first member is its admin.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = (
            sorted(set(self.initial_data) - set(self.fields))
            if isinstance(self.initial_data, dict)
            else []
        )
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        if ("organization" in attrs) == ("customer_name" in attrs):
            raise serializers.ValidationError(
                {"organization": ["Give either organization or customer_name."]}
            )
        if "customer_name" in attrs and "provider" not in attrs:
            raise serializers.ValidationError(
                {"provider": ["A new customer is invited by a provider: name it."]}
            )
        if "organization" in attrs and "role" not in attrs:
            raise serializers.ValidationError({"role": ["This field is required."]})
        return attrs


class PreferenceSerializer(serializers.Serializer):
    topic = serializers.ChoiceField(choices=list(TOPICS.items()))
    label = serializers.CharField(read_only=True)
    in_app = serializers.BooleanField(required=False, help_text=CHANNELS["in_app"])
    email = serializers.BooleanField(required=False, help_text=CHANNELS["email"])
    digest = serializers.BooleanField(required=False, help_text=CHANNELS["digest"])


class ApiTokenSerializer(serializers.Serializer):
    id = serializers.CharField(
        help_text="The token's first 8 characters: enough to revoke it, not to use it."
    )
    created = serializers.DateTimeField()


class InvitationAcceptSerializer(serializers.Serializer):
    token = serializers.CharField(
        max_length=500, help_text="The signed token of the link: the path segment after accept/."
    )
    username = serializers.CharField(
        required=False,
        max_length=150,
        help_text="Without authentication: the new account's name (no account has the address).",
    )
    password = serializers.CharField(
        required=False,
        max_length=128,
        trim_whitespace=False,
        style={"input_type": "password"},
        write_only=True,
        help_text="Without authentication: the new account's password.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        unknown = (
            sorted(set(self.initial_data) - set(self.fields))
            if isinstance(self.initial_data, dict)
            else []
        )
        if unknown:
            raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return attrs


class AcceptedInvitationSerializer(serializers.Serializer):
    organization = serializers.IntegerField(source="organization_id")
    organization_name = serializers.CharField(source="organization.name")
    role = serializers.CharField()
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")


class ReadingChoicesSerializer(serializers.Serializer):
    """The caller's reading choices (``people.Profile``); blank means "as my browser asks"
    and "my organisation's zone"."""

    language = serializers.ChoiceField(
        choices=[("", "as the browser asks"), ("en", "English"), ("de", "Deutsch")],
        required=False,
        allow_blank=True,
        help_text="'en', 'de', or '' for the browser's Accept-Language.",
    )
    timezone = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=64,
        help_text="An IANA zone such as Europe/Berlin, or '' for the organisation's zone.",
    )

    def validate_timezone(self, value: str) -> str:
        zone = value.strip()
        if zone and zone not in _timezones():
            raise serializers.ValidationError(
                gettext("%(zone)s is not an IANA time zone such as Europe/Berlin.")
                % {"zone": repr(zone)}
            )
        return zone
