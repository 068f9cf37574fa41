"""The customer's responsibilities under each contract and the lapses recorded."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from credits import selectors


@login_required
def responsibility_list(request: HttpRequest) -> HttpResponse:
    """The customer's responsibilities under each contract and the lapses recorded."""
    return render(
        request,
        "credits/responsibility_list.html",
        {"responsibilities": selectors.responsibilities(request.user)},
    )
