"""Disputes: a customer opens one on a statement line, the provider resolves it, both
follow them on a list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_POST

from credits import selectors, services
from credits.forms import DisputeForm, ResolveDisputeForm, add_service_errors
from credits.models import Dispute, StatementLine
from credits.views.statements import get_statement_or_404, statement_context

DISPUTES_PER_PAGE = 50


def _post_about_line(
    request: HttpRequest,
    line: StatementLine,
    form: DisputeForm | ResolveDisputeForm,
    act: Callable[[dict[str, Any]], object],
    *,
    missing: type[Exception],
    missing_message: str,
    done: str,
    page_forms: dict[str, dict[int, DisputeForm | ResolveDisputeForm]],
) -> HttpResponse:
    """Run a dispute service on a valid form, then go back to the line; a refusal shows
    the statement again with the form's errors beside its fields (400). ``missing`` is
    what the service raises for an object outside the user's scope: a 404, like a wrong
    id."""
    if form.is_valid():
        try:
            act(form.cleaned_data)
        except missing:
            raise Http404(missing_message) from None
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, done)
            statement_url = reverse("statement-detail", args=[line.statement_id])
            return redirect(f"{statement_url}#line-{line.pk}")
    statement = get_statement_or_404(request, line.statement_id)
    context = statement_context(request, statement, **page_forms)
    return render(request, "credits/statement_detail.html", context, status=400)


@login_required
@require_POST
def dispute_open(request: HttpRequest, line_id: int) -> HttpResponse:
    """A customer disputes one line; errors come back beside the reason field."""
    line = get_object_or_404(StatementLine.objects.visible_to(request.user), pk=line_id)
    form = DisputeForm(request.POST, auto_id=f"id_line{line.pk}_%s")
    return _post_about_line(
        request,
        line,
        form,
        lambda data: services.open_dispute(line=line, user=request.user, reason=data["reason"]),
        missing=StatementLine.DoesNotExist,
        missing_message="No such line.",
        done=gettext("Your dispute is open; the provider has been told."),
        page_forms={"dispute_forms": {line.pk: form}},
    )


@login_required
@require_POST
def dispute_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider accepts or rejects a dispute with a resolution."""
    dispute = get_object_or_404(
        Dispute.objects.visible_to(request.user).select_related("line"), pk=pk
    )
    form = ResolveDisputeForm(request.POST, auto_id=f"id_dispute{dispute.pk}_%s")
    return _post_about_line(
        request,
        dispute.line,
        form,
        lambda data: services.resolve_dispute(
            dispute=dispute,
            user=request.user,
            status=data["status"],
            resolution=data["resolution"],
            remedy=data.get("remedy") or "",
            adjustment_amount=data.get("adjustment_amount"),
        ),
        missing=Dispute.DoesNotExist,
        missing_message="No such dispute.",
        done=gettext("The dispute is resolved; the customer has been told."),
        page_forms={"resolve_forms": {dispute.pk: form}},
    )


@login_required
@require_POST
def dispute_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    """The provider reopens a dispute it rejected; both parties are told."""
    dispute = get_object_or_404(
        Dispute.objects.visible_to(request.user).select_related("line"), pk=pk
    )
    try:
        services.reopen_dispute(dispute=dispute, user=request.user)
    except Dispute.DoesNotExist:
        raise Http404("No such dispute.") from None
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, gettext("The dispute is open again; the customer has been told."))
    statement_url = reverse("statement-detail", args=[dispute.line.statement_id])
    return redirect(f"{statement_url}#dispute-{dispute.pk}")


@login_required
def dispute_list(request: HttpRequest) -> HttpResponse:
    """Every dispute on the user's statements, to follow their status."""
    status = request.GET.get("status") or ""
    if status not in ("", *Dispute.Status.values):
        status = ""
    disputes = selectors.dispute_list(request.user, status=status or None)
    page = Paginator(disputes, DISPUTES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "credits/dispute_list.html",
        {"page": page, "status": status, "statuses": Dispute.Status.choices},
    )
