"""Browser pages of the credits app: the dashboard, statements (HTML, CSV, PDF), disputes,
objectives, responsibilities, the notification inbox, and settling a period by hand.

Both parties use these pages. Every read starts from a ``visible_to`` scope, so anything
outside the user's contracts is a 404, exactly like an id that does not exist; every write
goes through ``credits.services`` (or settlement, for settling by hand), whose errors are
shown beside the field they concern.

One module per group of pages: ``dashboard``, ``statements``, ``disputes``,
``objectives``, ``responsibilities``, ``notifications``, ``settle``, ``claims``.
"""

from credits.views.claims import claim_detail, claim_list, claim_new, claim_resolve
from credits.views.dashboard import dashboard
from credits.views.disputes import dispute_list, dispute_open, dispute_reopen, dispute_resolve
from credits.views.notifications import (
    notification_inbox,
    notification_read,
    notification_read_all,
)
from credits.views.objectives import objective_detail
from credits.views.responsibilities import responsibility_list
from credits.views.settle import contract_settle
from credits.views.statements import (
    statement_csv,
    statement_detail,
    statement_export,
    statement_list,
    statement_pdf,
    statement_summary_export,
)

__all__ = [
    "claim_detail",
    "claim_list",
    "claim_new",
    "claim_resolve",
    "contract_settle",
    "dashboard",
    "dispute_list",
    "dispute_open",
    "dispute_reopen",
    "dispute_resolve",
    "notification_inbox",
    "notification_read",
    "notification_read_all",
    "objective_detail",
    "responsibility_list",
    "statement_csv",
    "statement_detail",
    "statement_export",
    "statement_list",
    "statement_pdf",
    "statement_summary_export",
]
