"""The people app in the admin: invitations (sent, revoked and resent through the
services, as in the browser and the API), choices and digest items, with their history;
and the users, whose deactivation or deletion may not leave an organisation without an
admin."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

from contracts.models import Membership
from contracts.models.parties import last_admin_message, organizations_losing_their_last_admin
from people import services
from people.models import DigestItem, Invitation, NotificationPreference, OrganizationChoice


class InvitationAddForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["organization", "email", "role"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("organization") and data.get("email") and data.get("role"):
            # The service's own checks, beside the fields, before anything is saved.
            services.check_invitable(
                organization=data["organization"], email=data["email"], role=data["role"]
            )
        return data


@admin.register(Invitation)
class InvitationAdmin(SimpleHistoryAdmin):
    list_display = ["email", "organization", "role", "status", "sent_at", "expires_at"]
    list_filter = ["status", "role", "organization__kind"]
    search_fields = ["email", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    actions = ["revoke", "resend"]
    readonly_fields = [
        "organization",
        "invited_by_organization",
        "email",
        "role",
        "status",
        "created_by",
        "created_at",
        "sent_at",
        "expires_at",
        "accepted_by",
        "accepted_at",
        "revoked_by",
        "revoked_at",
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = InvitationAddForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else ["organization", "email", "role"]

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        # Sent by the service, as from the invitations page: the checks and the e-mail.
        if change:
            return
        invitation = services.invite(
            user=request.user, organization=obj.organization, email=obj.email, role=obj.role
        )
        obj.pk = invitation.pk

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, never deleted: the history says who was invited

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        self._each(request, queryset, services.revoke, "revoked")

    @admin.action(description="Send the selected invitations again")
    def resend(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        self._each(request, queryset, services.resend, "sent again")

    def _each(self, request: HttpRequest, queryset: QuerySet, step: Any, done: str) -> None:
        count = 0
        for invitation in queryset:
            try:
                step(user=request.user, invitation=invitation)
                count += 1
            except ValidationError as exc:
                self.message_user(
                    request, f"{invitation.email}: {' '.join(exc.messages)}", messages.ERROR
                )
        if count:
            self.message_user(request, f"{count} invitation(s) {done}.", messages.SUCCESS)


@admin.register(NotificationPreference)
class NotificationPreferenceAdmin(SimpleHistoryAdmin):
    list_display = ["user", "topic", "in_app", "email", "digest"]
    list_filter = ["topic"]
    search_fields = ["user__username"]
    autocomplete_fields = ["user"]


@admin.register(OrganizationChoice)
class OrganizationChoiceAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "chosen_at"]
    search_fields = ["user__username", "organization__name"]
    autocomplete_fields = ["user", "organization"]


@admin.register(DigestItem)
class DigestItemAdmin(admin.ModelAdmin):
    list_display = ["user", "title", "created_at", "sent_at"]
    list_filter = ["event"]
    search_fields = ["user__username", "title"]
    list_select_related = ["user"]
    readonly_fields = [f.name for f in DigestItem._meta.fields]


def _last_admin_of(users: Any) -> list:
    """The organisations these users are the last acting admins of."""
    return organizations_losing_their_last_admin(Membership.objects.filter(user__in=users))


class PortalUserChangeForm(UserChangeForm):
    def clean_is_active(self) -> bool:
        active = self.cleaned_data["is_active"]
        if self.instance.pk and self.instance.is_active and not active:
            lost = _last_admin_of([self.instance])
            if lost:
                raise ValidationError(last_admin_message(lost))
        return active


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class PortalUserAdmin(UserAdmin):
    form = PortalUserChangeForm

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        # Deleting the last admin would end the organisation's administration: refused on
        # the confirmation page, as a protected object is.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        lost = _last_admin_of(objs)
        if lost:
            protected = [*protected, last_admin_message(lost)]
        return deleted, counts, perms_needed, protected
