"""The notification inbox and marking notifications read."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from credits import services
from credits.models import Notification

NOTIFICATIONS_PER_PAGE = 50


@login_required
def notification_inbox(request: HttpRequest) -> HttpResponse:
    """The user's own notifications, newest first, with the unread count."""
    notifications = Notification.objects.visible_to(request.user).select_related("organization")
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        notifications = notifications.unread()
    page = Paginator(notifications, NOTIFICATIONS_PER_PAGE).get_page(request.GET.get("page"))
    unread_count = Notification.objects.visible_to(request.user).unread().count()
    return render(
        request,
        "credits/notification_inbox.html",
        {
            "page": page,
            "unread_count": unread_count,
            "unread_notifications": unread_count,  # the navigation badge, counted once
            "only_unread": only_unread,
        },
    )


def _back_to_inbox(request: HttpRequest) -> HttpResponseRedirect:
    target = request.POST.get("next") or ""
    if not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        target = reverse("notification-inbox")
    return HttpResponseRedirect(target)


@login_required
@require_POST
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one of the user's notifications read (someone else's is a 404)."""
    notification = get_object_or_404(Notification.objects.visible_to(request.user), pk=pk)
    services.mark_notifications_read(user=request.user, ids=[notification.pk])
    return _back_to_inbox(request)


@login_required
@require_POST
def notification_read_all(request: HttpRequest) -> HttpResponse:
    """Mark every unread notification of the user read."""
    count = services.mark_notifications_read(user=request.user)
    messages.success(
        request,
        ngettext(
            "%(count)s notification marked read.", "%(count)s notifications marked read.", count
        )
        % {"count": count},
    )
    return _back_to_inbox(request)
