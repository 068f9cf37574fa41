"""The operators' view of the contracts app: every model, inlines, filters, history.

Every save and delete, inlines and the bulk delete action included, goes through
``contracts.services``: the admin keeps the rules the pages and the API keep, and a lapse
entered here tells both parties like one entered anywhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import nested_admin
from django.contrib import admin
from django.contrib.admin import widgets as admin_widgets
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import models
from django.forms import BaseForm, BaseInlineFormSet, BaseModelFormSet
from django.http import HttpRequest
from simple_history.admin import SimpleHistoryAdmin

import engine
from contracts import services
from contracts.forms.terms import ContractServiceAdminForm, ServiceLevelAdminForm, TermsEditFields
from contracts.models import (
    CalendarClosure,
    Contract,
    ContractService,
    Incident,
    MaintenanceWindow,
    Measurement,
    Membership,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceCalendar,
    ServiceLevel,
    TermsChange,
    Ticket,
    TicketEvent,
)
from contracts.models.parties import last_admin_message, organizations_losing_their_last_admin
from contracts.services.terms import TermsEdit


def _save_responsibility(responsibility: Responsibility, user: User, form: BaseForm | None) -> Any:
    # The objectives it relieves are stored with it, not by the form's save_m2m().
    cleaned = getattr(form, "cleaned_data", None) or {}
    return services.save_responsibility(
        responsibility=responsibility, service_levels=cleaned.get("service_levels")
    )


def _terms_edit(form: BaseForm | None) -> TermsEdit | None:
    # An amendment from the next period unless the form says otherwise.
    return form.terms_edit() if isinstance(form, TermsEditFields) else None


_SAVES: dict[type[models.Model], Callable[[Any, User, BaseForm | None], Any]] = {
    Organization: lambda o, user, form: services.save_organization(organization=o),
    Membership: lambda o, user, form: services.save_membership(membership=o),
    Service: lambda o, user, form: services.save_service(service=o),
    Contract: lambda o, user, form: services.save_contract(contract=o),
    ContractService: lambda o, user, form: services.save_contract_service(
        contract_service=o, terms_edit=_terms_edit(form), user=user
    ),
    ServiceLevel: lambda o, user, form: services.save_service_level(
        service_level=o, terms_edit=_terms_edit(form), user=user
    ),
    Responsibility: _save_responsibility,
    ResponsibilityLapse: lambda o, user, form: services.save_lapse(lapse=o, user=user),
    MaintenanceWindow: lambda o, user, form: services.save_maintenance_window(maintenance_window=o),
    Incident: lambda o, user, form: services.save_incident(incident=o),
    ServiceCalendar: lambda o, user, form: services.save_calendar(calendar=o),
    CalendarClosure: lambda o, user, form: services.save_closure(closure=o),
}
_DELETES: dict[type[models.Model], Callable[[Any], Any]] = {
    Organization: lambda o: services.delete_organization(organization=o),
    Membership: lambda o: services.delete_membership(membership=o),
    Service: lambda o: services.delete_service(service=o),
    Contract: lambda o: services.delete_contract(contract=o),
    ContractService: lambda o: services.remove_contract_service(contract_service=o),
    ServiceLevel: lambda o: services.delete_service_level(service_level=o),
    Responsibility: lambda o: services.delete_responsibility(responsibility=o),
    ResponsibilityLapse: lambda o: services.delete_lapse(lapse=o),
    MaintenanceWindow: lambda o: services.delete_maintenance_window(maintenance_window=o),
    Incident: lambda o: services.delete_incident(incident=o),
    Measurement: lambda o: services.delete_measurements(
        measurements=Measurement.objects.filter(pk=o.pk)
    ),
    Ticket: lambda o: services.delete_tickets(tickets=Ticket.objects.filter(pk=o.pk)),
    ServiceCalendar: lambda o: services.delete_calendar(calendar=o),
    CalendarClosure: lambda o: services.remove_closure(closure=o),
}


def _save(obj: models.Model, request: HttpRequest, form: BaseForm | None) -> None:
    obj._history_user = request.user
    _SAVES[type(obj)](obj, request.user, form)


class WritesThroughServices:
    """Saves and deletes of a model admin, and of its inlines, through the services."""

    def save_model(self, request: HttpRequest, obj: Any, form: BaseForm, change: bool) -> None:
        _save(obj, request, form)

    def save_related(
        self, request: HttpRequest, form: BaseForm, formsets: list, change: bool
    ) -> None:
        # No form.save_m2m(): the services store many-to-many fields with the record.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    def save_formset(
        self, request: HttpRequest, form: BaseForm, formset: BaseModelFormSet, change: bool
    ) -> None:
        # The formset only builds the records; the services validate and store them.
        saved = formset.save(commit=False)
        for obj in formset.deleted_objects:
            _DELETES[type(obj)](obj)
        forms = {id(inline_form.instance): inline_form for inline_form in formset.forms}
        for obj in saved:
            _save(obj, request, forms.get(id(obj)))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        _DELETES[type(obj)](obj)

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset:
            _DELETES[type(obj)](obj)


class MembershipInlineFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # Removing the last admin in the organisation's page: refused beside the members,
        # before the service would refuse it (each form's clean() refuses a demotion).
        removed = [form.instance for form in self.deleted_forms if form.instance.pk]
        lost = organizations_losing_their_last_admin(
            Membership.objects.filter(pk__in=[m.pk for m in removed])
        )
        if lost:
            raise ValidationError(last_admin_message(lost))


class MembershipInline(admin.TabularInline):
    model = Membership
    formset = MembershipInlineFormSet
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Organization)
class OrganizationAdmin(WritesThroughServices, SimpleHistoryAdmin):
    list_display = ["name", "slug", "kind"]
    list_filter = ["kind"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(WritesThroughServices, SimpleHistoryAdmin):
    list_display = ["user", "organization", "role"]
    list_filter = ["role", "organization__kind"]
    search_fields = ["user__username", "user__email", "organization__name"]
    list_select_related = ["user", "organization"]
    autocomplete_fields = ["user", "organization"]

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple:
        # The confirmation page names the organisations that would lose their last admin,
        # as it names protected objects, and deletes nothing.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        lost = organizations_losing_their_last_admin(objs)
        if lost:
            protected = [*protected, last_admin_message(lost)]
        return deleted, counts, perms_needed, protected


@admin.register(Service)
class ServiceAdmin(WritesThroughServices, SimpleHistoryAdmin):
    list_display = ["code", "name", "provider"]
    list_filter = ["provider"]
    search_fields = ["code", "name", "provider__name"]
    list_select_related = ["provider"]


def rule_in_words(level: ServiceLevel) -> str:
    """An objective's credit rule as the one sentence the portal uses for it."""
    if level.pk is None or level.contract_id is None:
        return "—"
    try:
        return engine.describe_rule(
            level.rule,
            comparator=level.comparator,
            period_name=level.contract.settlement_period,
            currency=level.contract.currency,
        )
    except (ValueError, engine.RuleError):
        return "—"


def terms_in_words(change: TermsChange) -> str:
    """A terms change as words: each term named, a credit rule as its sentence."""
    parts = []
    comparator = (change.terms or {}).get("comparator") or "gte"
    for name, value in (change.terms or {}).items():
        if value is None:
            continue
        if name == "credit_rule":
            try:
                value = engine.describe_rule(
                    engine.parse_rule(value),
                    comparator=comparator,
                    period_name=change.contract.settlement_period,
                    currency=change.contract.currency,
                )
            except (ValueError, TypeError, engine.RuleError):
                value = "a credit rule that cannot be read"
        parts.append(f"{name.replace('_', ' ')}: {value}")
    return "; ".join(parts) or "—"


class LabelledSplitDateTime(admin_widgets.AdminSplitDateTime):
    """Django's date and time inputs of one moment, each named for assistive technology
    (Django writes "Date:" and "Time:" as text, not as their labels)."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs)
        self.widgets[0].attrs["aria-label"] = "Date"
        self.widgets[1].attrs["aria-label"] = "Time"


class LabelledMoments:
    formfield_overrides = {models.DateTimeField: {"widget": LabelledSplitDateTime}}


class IncidentInline(LabelledMoments, nested_admin.NestedStackedInline):
    model = Incident
    extra = 0
    fields = ["key", "started_at", "ended_at", "cause", "description"]


class ContractServiceInline(nested_admin.NestedStackedInline):
    model = ContractService
    form = ContractServiceAdminForm
    extra = 0
    fields = ["service", "fee", "change", "effective_from"]
    inlines = [IncidentInline]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "service":
            kwargs["queryset"] = Service.objects.select_related("provider")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ServiceLevelInline(nested_admin.NestedStackedInline):
    """Customer and contract-service objectives of this contract; each credit rule is
    also said in words beside its JSON."""

    model = ServiceLevel
    form = ServiceLevelAdminForm
    fk_name = "contract"
    extra = 0
    fields = [
        ("level", "service", "key", "name"),
        ("indicator", "comparator", "target", "enabled"),
        ("threshold", "threshold_comparator"),
        "credit_rule",
        "credit_rule_text",
        ("chronic_breaches", "chronic_window"),
        ("change", "effective_from", "change_note"),
    ]
    exclude = ["provider"]
    readonly_fields = ["credit_rule_text"]

    @admin.display(description="Credit rule in words")
    def credit_rule_text(self, level: ServiceLevel) -> str:
        return rule_in_words(level)


class ResponsibilityLapseInline(LabelledMoments, nested_admin.NestedStackedInline):
    model = ResponsibilityLapse
    extra = 0
    fields = ["start", "end", "note"]


class ResponsibilityInline(nested_admin.NestedStackedInline):
    model = Responsibility
    extra = 0
    fields = ["title", "description", "service_levels"]
    filter_horizontal = ["service_levels"]
    inlines = [ResponsibilityLapseInline]


class MaintenanceWindowInline(LabelledMoments, nested_admin.NestedStackedInline):
    model = MaintenanceWindow
    extra = 0
    fields = ["contract_service", "start", "end", "description"]


class TermsChangeInline(nested_admin.NestedStackedInline):
    """The timeline of the contract's terms: kept as made, never edited here; the terms in
    words (a credit rule as its sentence), not as stored JSON."""

    model = TermsChange
    extra = 0
    fields = ["kind", "contract_service", "service_level", "effective_from", "terms_text", "note"]
    readonly_fields = fields
    can_delete = False

    @admin.display(description="Terms")
    def terms_text(self, change: TermsChange) -> str:
        return terms_in_words(change)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Contract)
class ContractAdmin(WritesThroughServices, SimpleHistoryAdmin, nested_admin.NestedModelAdmin):
    list_display = [
        "reference",
        "title",
        "provider",
        "customer",
        "status",
        "settlement_period",
        "currency",
        "start_date",
        "end_date",
    ]
    list_filter = ["status", "settlement_period", "currency", "provider", "customer"]
    search_fields = ["reference", "title", "provider__name", "customer__name"]
    list_select_related = ["provider", "customer"]
    date_hierarchy = "start_date"
    inlines = [
        ContractServiceInline,
        ServiceLevelInline,
        ResponsibilityInline,
        MaintenanceWindowInline,
        TermsChangeInline,
    ]
    history_list_display = ["status", "credit_cap_percent"]

    def save_formset(
        self, request: HttpRequest, form: BaseForm, formset: BaseModelFormSet, change: bool
    ) -> None:
        # Objectives entered on the contract page belong to the contract's provider.
        for inline_form in formset.forms:
            instance = inline_form.instance
            if isinstance(instance, ServiceLevel) and not instance.provider_id:
                instance.provider_id = form.instance.provider_id
        super().save_formset(request, form, formset, change)


@admin.register(TermsChange)
class TermsChangeAdmin(admin.ModelAdmin):
    list_display = [
        "contract",
        "kind",
        "contract_service",
        "service_level",
        "effective_from",
        "made_by",
        "made_at",
    ]
    list_filter = ["kind", "contract__provider"]
    search_fields = ["contract__reference", "note"]
    list_select_related = ["contract", "contract_service__service", "service_level", "made_by"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ContractService)
class ContractServiceAdmin(WritesThroughServices, SimpleHistoryAdmin):
    form = ContractServiceAdminForm
    list_display = ["contract", "service", "fee"]
    list_filter = ["contract__provider", "contract__status"]
    search_fields = ["contract__reference", "service__code", "service__name"]
    list_select_related = ["contract", "service"]


@admin.register(ServiceLevel)
class ServiceLevelAdmin(WritesThroughServices, SimpleHistoryAdmin):
    form = ServiceLevelAdminForm
    list_display = [
        "key",
        "name",
        "level",
        "provider",
        "contract",
        "service",
        "indicator",
        "comparator",
        "target",
        "enabled",
    ]
    list_filter = ["level", "indicator", "enabled", "provider"]
    search_fields = ["key", "name", "contract__reference", "service__code"]
    list_select_related = ["provider", "contract", "service"]
    history_list_display = ["target", "enabled", "credit_rule"]
    readonly_fields = ["sentence"]

    @admin.display(description="In plain language")
    def sentence(self, obj: ServiceLevel) -> str:
        if not obj.pk:
            return ""
        service_name = obj.service.name if obj.service_id else "every service"
        period = obj.contract.settlement_period if obj.contract_id else "period"
        try:
            return obj.describe(service_name=service_name, period_name=period)
        except ValueError as exc:  # an invalid stored rule must not break the page
            return f"(cannot describe: {exc})"


@admin.register(Responsibility)
class ResponsibilityAdmin(WritesThroughServices, SimpleHistoryAdmin):
    list_display = ["title", "contract"]
    search_fields = ["title", "contract__reference"]
    list_filter = ["contract__provider"]
    filter_horizontal = ["service_levels"]
    inlines = []


@admin.register(ResponsibilityLapse)
class ResponsibilityLapseAdmin(WritesThroughServices, SimpleHistoryAdmin):
    list_display = ["responsibility", "start", "end", "recorded_by", "recorded_for", "status"]
    list_filter = ["status", "recorded_for", "responsibility__contract__provider"]
    # A contest and its outcome are the parties' steps (the responsibilities page, the
    # API), each announced and the withdrawal settled again: shown here, not typed.
    readonly_fields = [
        "recorded_for",
        "status",
        "contest_reason",
        "contested_by",
        "contested_at",
        "resolution",
        "resolved_by",
        "resolved_at",
    ]
    search_fields = ["responsibility__title", "note"]
    list_select_related = ["responsibility", "recorded_by"]
    date_hierarchy = "start"


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(WritesThroughServices, SimpleHistoryAdmin):
    list_display = ["contract", "contract_service", "start", "end", "description"]
    list_filter = ["contract__provider"]
    search_fields = ["contract__reference", "description"]
    list_select_related = ["contract", "contract_service__service"]
    date_hierarchy = "start"


@admin.register(Incident)
class IncidentAdmin(WritesThroughServices, SimpleHistoryAdmin):
    list_display = ["contract_service", "key", "cause", "started_at", "ended_at"]
    list_filter = ["cause", "key", "contract_service__contract__provider"]
    search_fields = ["contract_service__contract__reference", "description"]
    list_select_related = ["contract_service__contract", "contract_service__service"]
    date_hierarchy = "started_at"


@admin.register(Measurement)
class MeasurementAdmin(WritesThroughServices, admin.ModelAdmin):
    list_display = ["contract_service", "key", "observed_at", "value", "ok"]
    list_filter = ["key"]
    search_fields = ["contract_service__contract__reference", "key"]
    list_select_related = ["contract_service__contract", "contract_service__service"]
    date_hierarchy = "observed_at"
    # The table is large: never count it to paginate.
    show_full_result_count = False

    # Samples enter through record_measurements (the API, CSV uploads), which checks a
    # batch against the objectives in force; here they are read, or deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class TicketEventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ["at", "status"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Ticket)
class TicketAdmin(WritesThroughServices, admin.ModelAdmin):
    list_display = [
        "reference",
        "priority",
        "contract_service",
        "opened_at",
        "first_response_at",
        "resolved_at",
    ]
    list_filter = ["priority", "contract_service__contract__provider"]
    search_fields = ["reference", "title", "contract_service__contract__reference"]
    list_select_related = ["contract_service__contract", "contract_service__service"]
    date_hierarchy = "opened_at"
    inlines = [TicketEventInline]

    # Tickets enter through record_tickets (the API), which checks a batch against the
    # contract's priorities and replaces a ticket's history whole; here they are read, or
    # deleted.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CalendarClosureInline(admin.TabularInline):
    """Closed days and intervals; imported ones keep the event's UID for re-imports."""

    model = CalendarClosure
    extra = 0
    fields = ["name", "day", "start", "end", "source", "uid"]
    readonly_fields = ["source", "uid"]


@admin.register(ServiceCalendar)
class ServiceCalendarAdmin(WritesThroughServices, admin.ModelAdmin):
    list_display = ["name", "provider", "timezone", "holiday_country", "holiday_subdivision"]
    list_filter = ["provider", "timezone", "holiday_country"]
    search_fields = ["name", "provider__name"]
    list_select_related = ["provider"]
    inlines = [CalendarClosureInline]
