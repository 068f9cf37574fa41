"""Organisations and memberships; a new member is a new user."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from rest_framework import serializers

from contracts.models import Membership, Organization
from contracts.services.parties import save_membership
from slaportal.api.errors import api_errors
from slaportal.api.fields import ScopedPrimaryKeyRelatedField
from slaportal.api.serializers import ValidatedModelSerializer


class OrganizationSerializer(ValidatedModelSerializer):
    # An organisation's webhooks are a resource of their own (/api/v1/webhooks/).
    immutable_fields = ("slug", "kind")

    class Meta:
        model = Organization
        fields = ["id", "name", "slug", "kind", "created_at"]


class MembershipSerializer(ValidatedModelSerializer):
    organization = ScopedPrimaryKeyRelatedField(model=Organization, scope="editable")
    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", max_length=150)
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    password = serializers.CharField(
        write_only=True, trim_whitespace=False, style={"input_type": "password"}, max_length=128
    )
    immutable_fields = ("organization", "username", "email", "password")

    class Meta:
        model = Membership
        fields = ["id", "organization", "user", "username", "email", "password", "role"]

    def _changed_immutable_fields(self, data: Any) -> list[str]:
        """The user's name, address and password live on the user, not the membership: a
        change sent here would be dropped, so it is refused (a password always: it is
        never read back, so no value sent can be the stored one)."""
        changed = super()._changed_immutable_fields(data)
        if self.instance is None or not isinstance(data, dict):
            return changed
        if "username" in data and str(data["username"]) != self.instance.user.username:
            changed.append("username")
        if "email" in data and str(data["email"]) != self.instance.user.email:
            changed.append("email")
        if "password" in data:
            changed.append("password")
        return changed

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None:
            return super().validate(attrs)
        # A new member is a new user: Django's own validators judge name and password.
        user_fields = attrs.pop("user")
        password = attrs.pop("password")
        user = get_user_model()(
            username=user_fields["username"], email=user_fields.get("email", "")
        )
        errors: dict[str, Any] = {}
        try:
            user.full_clean(exclude=["password"])
        except DjangoValidationError as exc:
            errors.update(api_errors(exc))
        try:
            validate_password(password, user)
        except DjangoValidationError as exc:
            errors["password"] = list(exc.messages)
        if errors:
            raise serializers.ValidationError(errors)
        user.set_password(password)
        self._new_user = user
        return attrs

    def update(self, instance: Membership, validated_data: dict[str, Any]) -> Membership:
        # Through the service: the last admin's demotion is checked again under a lock.
        membership = self._validated_instance
        membership._history_user = self.user
        return save_membership(membership=membership)

    def create(self, validated_data: dict[str, Any]) -> Membership:
        with transaction.atomic():
            user = self._new_user
            user.save()
            membership = Membership(user=user, **validated_data)
            membership.full_clean()
            membership.save()
        return membership
