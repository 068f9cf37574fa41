"""A revision against the previous one, line by line."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from credits import selectors
from credits.selectors.statement_changes import comparable_lines, statement_changes
from credits.views.statements import get_statement_or_404


@login_required
def statement_diff(request: HttpRequest, pk: int) -> HttpResponse:
    """For each line (matched by service and objective) the attainment, credit percent
    and amount before and after, lines added or removed marked in words; a first
    revision says there is nothing to compare. Scoped like the statement (404)."""
    statement = get_statement_or_404(request, pk)
    lines = comparable_lines(statement)
    revisions = selectors.statement_revisions(statement)
    changes = statement_changes(
        statement, lines, revisions, selectors.statement_adjustments(statement)
    )
    return render(
        request,
        "credits/statement_diff.html",
        {
            "statement": statement,
            "contract": statement.contract,
            "changes": changes,
            "revisions": revisions,
        },
    )
