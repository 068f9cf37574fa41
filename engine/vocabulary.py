"""The names the engine accepts for indicators, comparators, periods and rule kinds, and
the one explanation of a period without data."""

from engine.l10n import gettext_noop

INDICATORS: tuple[str, ...] = (
    "uptime",
    "ratio",
    "threshold",
    "count",
    "response_time",
    "resolution_time",
)
TICKET_INDICATORS: dict[str, str] = {"response_time": "response", "resolution_time": "resolution"}
"""The ticket indicators, each with the ticket clock it reads (engine.tickets)."""
COMPARATORS: tuple[str, ...] = ("gte", "lte")
PERIOD_KINDS: tuple[str, ...] = ("week", "month", "quarter")
RULE_KINDS: tuple[str, ...] = ("per_step", "tiered", "linear", "flat", "pool")

NO_DATA_EXPLANATION = gettext_noop("No data for this period: no credit.")
