"""Who may create and change through the API.

Reads are scoped by the querysets. Creating needs the resource's policy, each answered
by the rule of ``contracts.querysets``: provider data is created by those who write for
a provider; members by the admins of an organisation; organisations by staff. Changing
one object needs ``editable_by(user)``, asked only once the object was found in the
visible scope, so that outsiders get 404 before they would get 403.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from contracts.models import Organization
from contracts.querysets import is_anonymous, member_org_ids, organizations_edited_by

if TYPE_CHECKING:
    from contracts.querysets import User


def writes_for_a_provider(user: User | None) -> bool:
    """Whether the user may create provider data: staff, or a provider's admin or editor."""
    return organizations_edited_by(user, Organization.Kind.PROVIDER).exists()


def administers_an_organization(user: User | None) -> bool:
    if is_anonymous(user):
        return False
    return user.is_staff or member_org_ids(user, ("admin",)).exists()


def writes_for_an_organization(user: User | None) -> bool:
    """Whether the user writes for any organisation: staff, or an admin or editor."""
    return organizations_edited_by(user).exists()


CREATE_POLICIES: dict[str, Callable[[User | None], bool]] = {
    "provider_editor": writes_for_a_provider,
    "party_editor": writes_for_an_organization,
    "org_admin": administers_an_organization,
    "staff": lambda user: not is_anonymous(user) and user.is_staff,
    "authenticated": lambda user: not is_anonymous(user),
}


class ScopedWritePermission(BasePermission):
    """Reads: any authenticated user (the queryset does the scoping). Creates: the
    viewset's policy. Changes to one object: ``editable_by`` — checked only after the
    object was found in the visible scope, so outsiders get 404 before they get 403."""

    message = "You do not have permission to change this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if not hasattr(view, request.method.lower()):
            return True  # the route does not offer the method: 405 for everyone
        if view.lookup_url_kwarg in view.kwargs or view.lookup_field in view.kwargs:
            return True  # decided per object, once it is known to be visible
        return view.can_create(request)

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if request.method == "DELETE":
            return view.can_delete(request, obj)
        return view.can_change(request, obj)
