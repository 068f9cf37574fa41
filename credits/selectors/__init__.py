"""Reads of the credits pages: dashboard figures, statements, attainment series.

Every read starts from a scoping entry point (``visible_to``), so an outsider's query
comes back empty and the view answers 404. Totals count only the latest revision of each
period: a later revision replaces the earlier one, which stays readable as "superseded".
Figures are aggregated in SQL and every function runs a fixed number of queries,
whatever the number of statements.

Each job has its module; the names callers use are importable from here
(``from credits import selectors`` then ``selectors.dashboard(...)``).
"""

from credits.selectors.claims import (
    claim_list,
    claim_revisions,
    claimable_services,
    get_claim,
)
from credits.selectors.dashboard import (
    ContractCredit,
    Dashboard,
    MonthCredit,
    dashboard,
    dashboard_memberships,
    dashboard_organizations,
    recent_lapses,
)
from credits.selectors.dashboard_stamp import DashboardStamp, dashboard_stamp
from credits.selectors.disputes import dispute_list
from credits.selectors.line_tickets import LineTickets, line_tickets
from credits.selectors.objectives import (
    AttainmentPoint,
    ObjectiveHistory,
    ObjectiveStatus,
    objective_history,
    open_period_objectives,
    today_in,
)
from credits.selectors.responsibilities import responsibilities
from credits.selectors.statements import (
    StatementTotals,
    get_statement,
    latest_revisions,
    statement_adjustments,
    statement_lines,
    statement_lines_for_export,
    statement_list,
    statement_revisions,
    statement_totals,
    statements_for_export,
    terms_version_text,
    with_superseded,
)

__all__ = [
    "AttainmentPoint",
    "ContractCredit",
    "Dashboard",
    "DashboardStamp",
    "LineTickets",
    "MonthCredit",
    "ObjectiveHistory",
    "ObjectiveStatus",
    "StatementTotals",
    "claim_list",
    "claim_revisions",
    "claimable_services",
    "dashboard",
    "dashboard_memberships",
    "dashboard_organizations",
    "dashboard_stamp",
    "dispute_list",
    "get_claim",
    "get_statement",
    "latest_revisions",
    "line_tickets",
    "objective_history",
    "open_period_objectives",
    "recent_lapses",
    "responsibilities",
    "statement_adjustments",
    "statement_lines",
    "statement_lines_for_export",
    "statement_list",
    "statement_revisions",
    "statement_totals",
    "statements_for_export",
    "terms_version_text",
    "today_in",
    "with_superseded",
]
