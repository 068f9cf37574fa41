"""The version of a dashboard, read in one query, which says when a cached page is stale."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import connection
from django.utils import timezone, translation

from contracts.models import (
    Contract,
    ContractService,
    Organization,
    Responsibility,
    ResponsibilityLapse,
    Service,
    ServiceLevel,
)
from credits.models import Notification, OpenPeriodProgress, Statement

if TYPE_CHECKING:
    from contracts.querysets import User


@dataclass(frozen=True, slots=True)
class DashboardStamp:
    """What the dashboard of one user and organisation depends on, read in one query: the
    same ``key`` means the same page. ``unread`` is the user's unread count (for the badge)."""

    key: str
    unread: int


# Each figure changes whenever a row the dashboard shows is written: statements are only
# ever inserted (a later revision is a new row), every save or delete of a contract, its
# services, objectives, parties, services or lapses adds a history row, notifications
# change by insertion or by a read mark (count of unread and the latest read time), and
# every early-warning run rewrites ``measured_at`` of its progress rows with its own, later
# time (their latest moves). Plain SQL that SQLite (the laptop default) runs too.
_STAMP_SQL = """
SELECT
    (SELECT max(id) FROM {statement}),
    s.total,
    (SELECT max(history_id) FROM {contract_history}),
    (SELECT max(history_id) FROM {contract_service_history}),
    (SELECT max(history_id) FROM {service_level_history}),
    (SELECT max(history_id) FROM {service_history}),
    (SELECT max(history_id) FROM {organization_history}),
    (SELECT max(history_id) FROM {lapse_history}),
    (SELECT max(id) FROM {responsibility}),
    n.total, n.last, n.unread, n.last_read,
    p.total, p.last, p.measured
FROM (
    -- Chunks of statements commit in any order: a count notices one that committed after
    -- a higher id did.
    SELECT count(*) AS total
    FROM {statement} st JOIN {contract} c ON c.id = st.contract_id
    WHERE {parties}
) AS s, (
    SELECT count(*) AS total, max(id) AS last,
           coalesce(sum(CASE WHEN read_at IS NULL THEN 1 ELSE 0 END), 0) AS unread,
           max(read_at) AS last_read
    FROM {notification} WHERE user_id = %s
) AS n, (
    SELECT count(*) AS total, max(id) AS last,
           max(measured_at) AS measured
    FROM {progress}
    WHERE contract_service_id IN (
        SELECT cs.id FROM {contract_service} cs JOIN {contract} c ON c.id = cs.contract_id
        WHERE {parties}
    )
) AS p
"""
# Period, month and year boundaries fall on a quarter of an hour in every time zone.
_STAMP_BUCKET_SECONDS = 15 * 60


@functools.cache
def _stamp_sql(*, everyone: bool) -> str:
    """The stamp's SQL with its table names, for one organisation's contracts or for all.
    Computed once: reaching a history model through its manager is not free."""
    return _STAMP_SQL.format(
        statement=Statement._meta.db_table,
        contract_history=Contract.history.model._meta.db_table,
        contract_service_history=ContractService.history.model._meta.db_table,
        service_level_history=ServiceLevel.history.model._meta.db_table,
        service_history=Service.history.model._meta.db_table,
        organization_history=Organization.history.model._meta.db_table,
        lapse_history=ResponsibilityLapse.history.model._meta.db_table,
        responsibility=Responsibility._meta.db_table,
        notification=Notification._meta.db_table,
        progress=OpenPeriodProgress._meta.db_table,
        contract_service=ContractService._meta.db_table,
        contract=Contract._meta.db_table,
        parties="TRUE" if everyone else "(c.provider_id = %s OR c.customer_id = %s)",
    )


def dashboard_stamp(
    user: User, *, organization: Organization | None, organizations: list[Organization]
) -> DashboardStamp:
    """The version of one user's dashboard of ``organization`` (one query): it changes as
    soon as anything the page shows changes, and at every quarter of an hour."""
    # The progress of every contract of the organisation, whether the user sees it or not:
    # a stamp only says when to render again, and reading it must stay cheap.
    if organization is None:
        sql, params = _stamp_sql(everyone=True), [user.pk]
    else:
        parties = [organization.pk, organization.pk]
        sql, params = _stamp_sql(everyone=False), [*parties, user.pk, *parties]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        figures = cursor.fetchone()
    bucket = int(timezone.now().timestamp()) // _STAMP_BUCKET_SECONDS
    parties = [(o.pk, o.slug, o.name, o.kind) for o in organizations]
    # The page is written in the reader's language and zone: each has its own rendering.
    reading = (translation.get_language(), timezone.get_current_timezone_name())
    identity = (
        user.pk,
        user.is_staff,
        organization.pk if organization else None,
        parties,
        reading,
    )
    digest = hashlib.sha256(repr((identity, bucket, figures)).encode()).hexdigest()
    return DashboardStamp(key=f"dashboard:{digest}", unread=figures[11])
