"""Settlement: loads contract periods' data, calls the engine, writes statements.

Contract periods are settled in batches (one alone is a batch of one), each in a constant
number of queries whatever the number of periods, services or samples. The modules, in
the order a settlement runs through them:

- :mod:`~credits.settlement.periods`: which contracts are settled, over which days, and
  whether a given period can be settled now (the one rule the sweep, a manual settlement
  and the SQLite fallback share);
- :mod:`~credits.settlement.inputs`: everything read from the database for a batch;
- :mod:`~credits.settlement.calendars` and :mod:`~credits.settlement.tickets`: the
  service calendars of its objectives, and the tickets of its ticket objectives;
- :mod:`~credits.settlement.measures`: those inputs turned into the engine's measures;
- :mod:`~credits.settlement.compute`: the statement the engine computes from them;
- :mod:`~credits.settlement.issue`: statements written, idempotently, as new revisions;
- :mod:`~credits.settlement.announce`: both parties told once committed (or the outbox);
- :mod:`~credits.settlement.sweeping`: what is due, enqueued in chunks, and each chunk's
  settlement (or early warnings) with its one-by-one fallback;
- :mod:`~credits.settlement.early_warning`: warnings and progress during an open period;
- :mod:`~credits.settlement.results`: what settlement returns, and its error.

Tasks (:mod:`credits.tasks`) call this package; it sends tasks by name and never imports
them.
"""

from credits.settlement.compute import compute_period
from credits.settlement.early_warning import warn_early, warn_open_periods
from credits.settlement.issue import settle_period, settle_periods
from credits.settlement.periods import (
    check_settleable,
    closed_periods,
    is_settled,
    settled_contracts,
    why_not_settled,
)
from credits.settlement.results import (
    ComputedLine,
    ComputedStatement,
    SettlementError,
    SettlementResult,
)
from credits.settlement.sweeping import (
    TRANSIENT_ERRORS,
    ChunkSettled,
    due_periods,
    settle_chunk,
    sweep,
    warn_chunk,
)

__all__ = [
    "TRANSIENT_ERRORS",
    "ChunkSettled",
    "ComputedLine",
    "ComputedStatement",
    "SettlementError",
    "SettlementResult",
    "check_settleable",
    "closed_periods",
    "compute_period",
    "due_periods",
    "is_settled",
    "settle_chunk",
    "settle_period",
    "settle_periods",
    "settled_contracts",
    "sweep",
    "warn_chunk",
    "warn_early",
    "warn_open_periods",
    "why_not_settled",
]
