"""Service calendars of a provider: the list, a calendar with the next weeks as a
timeline and its closures, the calendar's form, an iCalendar import and closures by hand.

Provider members read their calendars; a customer reads those of the objectives that
apply to it (``ServiceCalendar.objects.visible_to``); everyone else gets 404. Only the
provider's editors write, through ``contracts.services``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

import engine
from contracts import selectors, services
from contracts.forms.calendars import CalendarClosureForm, IcsUploadForm, ServiceCalendarForm
from contracts.models import CalendarClosure, Organization, ServiceCalendar
from contracts.querysets import may_edit, organizations_of
from contracts.views.common import apply_form_errors, provider_for

TIMELINE_WEEKS = 4
WEEK_CHOICES = (2, 4, 8, 13)
MAX_TIMELINE_WEEKS = 26


def _readable_provider(request: HttpRequest, slug: str) -> Organization:
    """A provider whose calendars the user may read some of: its members, and customers
    of its contracts (who see only the calendars of their objectives)."""
    return get_object_or_404(
        Organization.objects.visible_to(request.user).filter(kind=Organization.Kind.PROVIDER),
        slug=slug,
    )


def _readable_calendar(request: HttpRequest, slug: str, calendar_pk: int) -> ServiceCalendar:
    return get_object_or_404(
        ServiceCalendar.objects.visible_to(request.user)
        .filter(provider__slug=slug)
        .select_related("provider"),
        pk=calendar_pk,
    )


def _editable_calendar(request: HttpRequest, slug: str, calendar_pk: int) -> ServiceCalendar:
    """404 outside the user's scope, 403 inside it without the editor role."""
    calendar = _readable_calendar(request, slug, calendar_pk)
    if not may_edit(request.user, calendar.provider, kind=Organization.Kind.PROVIDER):
        raise PermissionDenied(gettext("Only the provider's editors change its calendars."))
    return calendar


def _detail_url(calendar: ServiceCalendar, anchor: str = "") -> str:
    url = reverse("calendar-detail", args=[calendar.provider.slug, calendar.pk])
    return f"{url}#{anchor}" if anchor else url


@login_required
def calendar_home(request: HttpRequest) -> HttpResponse:
    """The navigation's "Calendars": the calendars of the user's (first) provider."""
    provider = organizations_of(request.user, Organization.Kind.PROVIDER).order_by("name").first()
    if provider is None:
        raise Http404("No provider to show calendars of.")
    return redirect("calendar-list", slug=provider.slug)


@login_required
def calendar_list(request: HttpRequest, slug: str) -> HttpResponse:
    """The provider's calendars with their hours, holidays and use; a constant number of
    queries whatever the number of calendars."""
    provider = _readable_provider(request, slug)
    calendars = list(
        ServiceCalendar.objects.visible_to(request.user)
        .filter(provider=provider)
        .annotate(closure_count=Count("closures", distinct=True))
        .annotate(objective_count=Count("service_levels", distinct=True))
        .order_by("name")
    )
    for calendar in calendars:
        calendar.hours_text = _hours_text(calendar)
    return render(
        request,
        "contracts/calendar_list.html",
        {
            "provider": provider,
            "calendars": calendars,
            "can_edit": may_edit(request.user, provider, kind=Organization.Kind.PROVIDER),
            "providers": organizations_of(request.user, Organization.Kind.PROVIDER).order_by(
                "name"
            ),
        },
    )


def _hours_text(calendar: ServiceCalendar) -> str:
    try:
        engine_calendar = engine.ServiceCalendar(timezone=calendar.timezone, hours=calendar.hours)
    except engine.ParameterError:
        return "The stored hours cannot be read."
    return engine.calendars.describe_hours(engine_calendar.hours)


def _weeks(request: HttpRequest) -> int:
    raw = request.GET.get("weeks") or ""
    if raw.isdigit() and 1 <= int(raw) <= MAX_TIMELINE_WEEKS:
        return int(raw)
    return TIMELINE_WEEKS


def _detail_page(
    request: HttpRequest,
    calendar: ServiceCalendar,
    *,
    ics_form: IcsUploadForm | None = None,
    closure_form: CalendarClosureForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_edit = may_edit(request.user, calendar.provider, kind=Organization.Kind.PROVIDER)
    weeks = _weeks(request)
    zone = ZoneInfo(calendar.timezone)
    today = timezone.now().astimezone(zone).date()
    timeline = selectors.calendar_timeline(
        calendar, start=today, end=today + timedelta(weeks=weeks)
    )
    closures = list(calendar.closures.order_by("day", "start", "pk"))
    context: dict[str, Any] = {
        "provider": calendar.provider,
        "calendar": calendar,
        "hours_text": _hours_text(calendar),
        "timeline": timeline,
        "weeks": weeks,
        "week_choices": WEEK_CHOICES,
        "today": today,
        "closures": closures,
        "can_edit": can_edit,
        "objectives": calendar.service_levels.visible_to(request.user)
        .select_related("contract", "service")
        .order_by("key", "pk"),
    }
    if can_edit:
        context["ics_form"] = ics_form or IcsUploadForm()
        context["closure_form"] = closure_form or CalendarClosureForm(
            instance=CalendarClosure(calendar=calendar)
        )
    with timezone.override(zone):
        return render(request, "contracts/calendar_detail.html", context, status=status)


@login_required
def calendar_detail(request: HttpRequest, slug: str, calendar_pk: int) -> HttpResponse:
    """A calendar: its hours, the next weeks day by day, its closures and its objectives."""
    return _detail_page(request, _readable_calendar(request, slug, calendar_pk))


@login_required
@require_http_methods(["GET", "POST"])
def calendar_form(request: HttpRequest, slug: str, calendar_pk: int | None = None) -> HttpResponse:
    """A new calendar, or a calendar's name, timezone, hours and public holidays."""
    provider = provider_for(request, slug, edit=True)
    if calendar_pk:
        instance = _editable_calendar(request, slug, calendar_pk)
    else:
        instance = ServiceCalendar(provider=provider)
    form = ServiceCalendarForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        fields = {
            "name": form.cleaned_data["name"],
            "timezone": form.cleaned_data["timezone"],
            "hours": form.instance.hours,
            "holiday_country": form.cleaned_data["holiday_country"],
            "holiday_subdivision": form.cleaned_data["holiday_subdivision"],
        }
        try:
            if instance.pk:
                calendar = services.update_calendar(calendar=instance, **fields)
            else:
                calendar = services.create_calendar(provider=provider, **fields)
        except ValidationError as error:
            apply_form_errors(form, error)
        else:
            messages.success(request, gettext("Calendar %(name)s saved.") % {"name": calendar.name})
            return redirect(_detail_url(calendar))
    return render(
        request,
        "contracts/calendar_form.html",
        {"form": form, "provider": provider, "instance": instance},
    )


@login_required
@require_http_methods(["GET", "POST"])
def calendar_delete(request: HttpRequest, slug: str, calendar_pk: int) -> HttpResponse:
    calendar = _editable_calendar(request, slug, calendar_pk)
    error = None
    if request.method == "POST":
        try:
            services.delete_calendar(calendar=calendar)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            messages.success(
                request, gettext("Calendar %(name)s deleted.") % {"name": calendar.name}
            )
            return redirect("calendar-list", slug=calendar.provider.slug)
    return render(
        request,
        "contracts/confirm_delete.html",
        {
            "what": gettext("the calendar %(name)s") % {"name": calendar.name},
            "consequence": gettext(
                "Its closures go with it. A calendar that objectives use cannot "
                "be deleted: pick another calendar for them first."
            ),
            "error": error,
            "cancel_url": _detail_url(calendar),
        },
    )


@login_required
@require_POST
def calendar_import(request: HttpRequest, slug: str, calendar_pk: int) -> HttpResponse:
    """Close the calendar on the events of an iCalendar file."""
    calendar = _editable_calendar(request, slug, calendar_pk)
    form = IcsUploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            result = services.import_ics(
                calendar=calendar,
                content=form.cleaned_data["file"].read(),
                replace=form.cleaned_data["replace"],
            )
        except ValidationError as error:
            form.add_error("file", error.messages)
        else:
            messages.success(
                request,
                gettext("Imported from %(file)s: %(result)s.")
                % {"file": form.cleaned_data["file"].name, "result": result},
            )
            return redirect(_detail_url(calendar, "closures"))
    return _detail_page(request, calendar, ics_form=form)


@login_required
@require_POST
def closure_add(request: HttpRequest, slug: str, calendar_pk: int) -> HttpResponse:
    """A closed day or interval entered by hand (times in the calendar's zone)."""
    calendar = _editable_calendar(request, slug, calendar_pk)
    with timezone.override(ZoneInfo(calendar.timezone)):
        form = CalendarClosureForm(request.POST, instance=CalendarClosure(calendar=calendar))
        if form.is_valid():
            data = form.cleaned_data
            try:
                closure = services.add_closure(
                    calendar=calendar,
                    name=data["name"],
                    day=data["day"],
                    start=data["start"],
                    end=data["end"],
                )
            except ValidationError as error:
                apply_form_errors(form, error)
            else:
                messages.success(
                    request, gettext("Closure added: %(closure)s.") % {"closure": closure}
                )
                return redirect(_detail_url(calendar, "closures"))
    return _detail_page(request, calendar, closure_form=form)


@login_required
@require_POST
def closure_remove(
    request: HttpRequest, slug: str, calendar_pk: int, closure_pk: int
) -> HttpResponse:
    calendar = _editable_calendar(request, slug, calendar_pk)
    closure = get_object_or_404(calendar.closures.all(), pk=closure_pk)
    services.remove_closure(closure=closure)
    messages.success(request, gettext("Closure removed: %(closure)s.") % {"closure": closure})
    return redirect(_detail_url(calendar, "closures"))
