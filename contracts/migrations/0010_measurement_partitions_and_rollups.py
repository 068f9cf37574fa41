# Samples partitioned by month and added up by the hour (PostgreSQL), and each contract's
# settled-through day. SQLite keeps one plain samples table: settlement there reads the
# samples themselves, and the rollup tables stay empty.

import django.db.models.deletion
from django.db import migrations, models

MEASUREMENT = "contracts_measurement"
ROLLUP = "contracts_measurementrollup"
THRESHOLD = "contracts_thresholdrollup"
COLUMNS = "id, contract_service_id, key, observed_at, value, ok"
# Months created ahead by the migration (the periodic task keeps creating them).
AHEAD = 3

_HOUR = "date_trunc('hour', {t}.observed_at, 'UTC')"

# Samples in (a transition table {t}): each hour's figures added, and each threshold a
# threshold objective of the provider names for the key counted (complete only when the
# hour held no valued sample before: otherwise the count would miss the earlier ones).
_ADD = f"""
INSERT INTO {ROLLUP} AS r (contract_service_id, key, hour, samples, judged, ok_count,
                            valued, value_sum, value_min, value_max)
SELECT {{t}}.contract_service_id, {{t}}.key, {_HOUR}, count(*), count({{t}}.ok),
       count(*) FILTER (WHERE {{t}}.ok), count({{t}}.value), sum(coalesce({{t}}.value, 1)),
       min({{t}}.value), max({{t}}.value)
FROM {{rows}} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (contract_service_id, key, hour) DO UPDATE SET
    samples = r.samples + excluded.samples,
    judged = r.judged + excluded.judged,
    ok_count = r.ok_count + excluded.ok_count,
    valued = r.valued + excluded.valued,
    value_sum = r.value_sum + excluded.value_sum,
    value_min = LEAST(r.value_min, excluded.value_min),
    value_max = GREATEST(r.value_max, excluded.value_max);
INSERT INTO {THRESHOLD} AS tr (contract_service_id, key, hour, comparator, threshold, valued,
                                meeting, complete)
SELECT n.cs, n.key, n.hour, n.cmp, n.thr, n.valued, n.meeting, r.valued = n.valued
FROM (
    SELECT {{t}}.contract_service_id AS cs, {{t}}.key, {_HOUR} AS hour,
           o.threshold_comparator AS cmp, o.threshold AS thr, count(*) AS valued,
           count(*) FILTER (WHERE CASE o.threshold_comparator
                                  WHEN 'gte' THEN {{t}}.value >= o.threshold
                                  ELSE {{t}}.value <= o.threshold END) AS meeting
    FROM {{rows}}
    JOIN contracts_contractservice s ON s.id = {{t}}.contract_service_id
    JOIN contracts_contract c ON c.id = s.contract_id
    JOIN (SELECT DISTINCT provider_id, key, threshold_comparator, threshold
          FROM contracts_servicelevel
          WHERE indicator = 'threshold' AND threshold IS NOT NULL
            AND threshold_comparator IS NOT NULL) o
      ON o.provider_id = c.provider_id AND o.key = {{t}}.key
    WHERE {{t}}.value IS NOT NULL
    GROUP BY 1, 2, 3, 4, 5
) n
JOIN {ROLLUP} r ON r.contract_service_id = n.cs AND r.key = n.key AND r.hour = n.hour
ORDER BY 1, 2, 3, 4, 5
ON CONFLICT (contract_service_id, key, hour, comparator, threshold) DO UPDATE SET
    valued = tr.valued + excluded.valued,
    meeting = tr.meeting + excluded.meeting;
"""

# Samples out: subtracted (the bounds stay: a wider bound is still a bound).
_SUBTRACT = f"""
UPDATE {ROLLUP} r SET samples = r.samples - d.samples, judged = r.judged - d.judged,
       ok_count = r.ok_count - d.ok_count, valued = r.valued - d.valued,
       value_sum = r.value_sum - d.value_sum
FROM (
    SELECT {{t}}.contract_service_id AS cs, {{t}}.key, {_HOUR} AS hour, count(*) AS samples,
           count({{t}}.ok) AS judged, count(*) FILTER (WHERE {{t}}.ok) AS ok_count,
           count({{t}}.value) AS valued, sum(coalesce({{t}}.value, 1)) AS value_sum
    FROM {{t}} GROUP BY 1, 2, 3
) d
WHERE r.contract_service_id = d.cs AND r.key = d.key AND r.hour = d.hour;
UPDATE {THRESHOLD} tr SET valued = tr.valued - d.valued, meeting = tr.meeting - d.meeting
FROM (
    SELECT x.id, count(*) AS valued,
           count(*) FILTER (WHERE CASE x.comparator WHEN 'gte' THEN {{t}}.value >= x.threshold
                                  ELSE {{t}}.value <= x.threshold END) AS meeting
    FROM {{t}}
    JOIN {THRESHOLD} x ON x.contract_service_id = {{t}}.contract_service_id
         AND x.key = {{t}}.key AND x.hour = {_HOUR}
    WHERE {{t}}.value IS NOT NULL
    GROUP BY x.id
) d
WHERE tr.id = d.id;
"""

_FUNCTIONS = {
    "contracts_measurement_rollup_insert": _ADD.format(rows="new_rows", t="new_rows"),
    "contracts_measurement_rollup_delete": _SUBTRACT.format(t="old_rows"),
    "contracts_measurement_rollup_update": _SUBTRACT.format(t="old_rows")
    + _ADD.format(rows="new_rows", t="new_rows"),
}
_TRIGGERS = [
    ("INSERT", "NEW TABLE AS new_rows", "contracts_measurement_rollup_insert"),
    ("DELETE", "OLD TABLE AS old_rows", "contracts_measurement_rollup_delete"),
    ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows", "contracts_measurement_rollup_update"),
]

# The partition of a month, created by the owner role for the app's periodic task
# (SECURITY DEFINER: the app's role owns no table and may create none). Samples that
# arrived for the month before it had a partition sit in the default partition: they are
# moved in first (a partition may not be created over rows the default one holds).
# Moving them goes round the parent's statement triggers, so the rollups stay as they are.
_ENSURE_PARTITION = f"""
CREATE FUNCTION contracts_measurement_partition(for_month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    month_start date := date_trunc('month', for_month)::date;
    low timestamptz := month_start::timestamp AT TIME ZONE 'UTC';
    high timestamptz := (month_start + interval '1 month')::timestamp AT TIME ZONE 'UTC';
    part_name text := format('{MEASUREMENT}_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
BEGIN
    IF to_regclass(part_name) IS NOT NULL THEN
        RETURN part_name;
    END IF;
    IF EXISTS (SELECT 1 FROM {MEASUREMENT}_default
               WHERE observed_at >= low AND observed_at < high) THEN
        EXECUTE format('CREATE TABLE %I (LIKE {MEASUREMENT} INCLUDING DEFAULTS)', part_name);
        EXECUTE format('INSERT INTO %I SELECT * FROM {MEASUREMENT}_default '
                       'WHERE observed_at >= %L AND observed_at < %L', part_name, low, high);
        EXECUTE format('DELETE FROM {MEASUREMENT}_default '
                       'WHERE observed_at >= %L AND observed_at < %L', low, high);
        EXECUTE format('ALTER TABLE {MEASUREMENT} ATTACH PARTITION %I '
                       'FOR VALUES FROM (%L) TO (%L)', part_name, low, high);
    ELSE
        EXECUTE format('CREATE TABLE %I PARTITION OF {MEASUREMENT} '
                       'FOR VALUES FROM (%L) TO (%L)', part_name, low, high);
    END IF;
    RETURN part_name;
END $$;
"""

# Retention: a month's partition detached from the samples (settlement keeps reading its
# hours' rollups) and kept as a table of its own, which the calling role may read to
# archive it; contracts_measurement_drop_archived drops it once archived.
_DETACH_PARTITION = f"""
CREATE FUNCTION contracts_measurement_detach(for_month date) RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
    month_start date := date_trunc('month', for_month)::date;
    part_name text := format('{MEASUREMENT}_y%sm%s', to_char(month_start, 'YYYY'), to_char(month_start, 'MM'));
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_inherits
                   WHERE inhrelid = to_regclass(part_name)
                     AND inhparent = '{MEASUREMENT}'::regclass) THEN
        RETURN NULL;
    END IF;
    EXECUTE format('ALTER TABLE {MEASUREMENT} DETACH PARTITION %I', part_name);
    EXECUTE format('ALTER TABLE %I RENAME TO %I', part_name, part_name || '_archived');
    EXECUTE format('GRANT SELECT ON %I TO %I', part_name || '_archived', session_user);
    RETURN part_name || '_archived';
END $$;

CREATE FUNCTION contracts_measurement_drop_archived(part_name text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
BEGIN
    IF part_name !~ '^{MEASUREMENT}_y[0-9]{{4}}m[0-9]{{2}}_archived$' THEN
        RAISE EXCEPTION 'not an archived partition of the samples: %', part_name;
    END IF;
    EXECUTE format('DROP TABLE IF EXISTS %I', part_name);
END $$;
"""

# Every hour's rollups computed again from its samples, for the whole hours around
# [low, high): the load path of samples written round the triggers (a benchmark's COPY
# straight into partitions), and what a test compares the kept rollups with.
_REBUILD = f"""
CREATE FUNCTION contracts_measurement_rollup_rebuild(low timestamptz, high timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo_hour timestamptz := date_trunc('hour', low, 'UTC');
    hi_hour timestamptz := date_trunc('hour', high + interval '1 hour' - interval '1 microsecond',
                                   'UTC');
BEGIN
    DELETE FROM {THRESHOLD} WHERE hour >= lo_hour AND hour < hi_hour;
    DELETE FROM {ROLLUP} WHERE hour >= lo_hour AND hour < hi_hour;
    {_ADD.format(
        rows=f"(SELECT * FROM {MEASUREMENT} WHERE observed_at >= lo_hour AND observed_at < hi_hour) m",
        t="m",
    )}
END $$;
"""


def _months_with_samples(cursor, table):
    cursor.execute(
        f"SELECT DISTINCT date_trunc('month', observed_at, 'UTC')::date FROM {table}"
    )
    return {row[0] for row in cursor.fetchall()}


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    from datetime import UTC, date, datetime

    with schema_editor.connection.cursor() as cursor:
        # Without parameters: the functions' bodies hold format()'s % placeholders.
        run = cursor.execute
        run(f"ALTER TABLE {MEASUREMENT} RENAME TO {MEASUREMENT}_unpartitioned")
        run("ALTER INDEX measurement_cs_key_time_cover RENAME TO measurement_cs_key_time_old")
        run(f"ALTER INDEX {MEASUREMENT}_pkey RENAME TO {MEASUREMENT}_unpartitioned_pkey")
        run(f"CREATE SEQUENCE {MEASUREMENT}_part_id_seq")
        run(
            f"""
            CREATE TABLE {MEASUREMENT} (
                id bigint NOT NULL DEFAULT nextval('{MEASUREMENT}_part_id_seq'),
                contract_service_id bigint NOT NULL
                    CONSTRAINT {MEASUREMENT}_contract_service_id_fk
                    REFERENCES contracts_contractservice (id) DEFERRABLE INITIALLY DEFERRED,
                key varchar(60) NOT NULL,
                observed_at timestamptz NOT NULL,
                value numeric(20, 6),
                ok boolean,
                -- A partitioned table's key holds its partition key.
                PRIMARY KEY (id, observed_at)
            ) PARTITION BY RANGE (observed_at)
            """
        )
        run(f"CREATE TABLE {MEASUREMENT}_default PARTITION OF {MEASUREMENT} DEFAULT")
        run(
            f"CREATE INDEX measurement_cs_key_time_cover ON {MEASUREMENT} "
            "(contract_service_id, key, observed_at) INCLUDE (value, ok)"
        )
        run(_ENSURE_PARTITION)
        run(_DETACH_PARTITION)
        today = datetime.now(UTC).date().replace(day=1)
        months = _months_with_samples(cursor, f"{MEASUREMENT}_unpartitioned")
        month = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
        for _ in range(AHEAD + 2):
            months.add(month)
            month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        for month in sorted(months):
            cursor.execute("SELECT contracts_measurement_partition(%s)", [month])
        run(
            f"INSERT INTO {MEASUREMENT} ({COLUMNS}) SELECT {COLUMNS} "
            f"FROM {MEASUREMENT}_unpartitioned"
        )
        run(
            f"SELECT setval('{MEASUREMENT}_part_id_seq', "
            f"COALESCE((SELECT max(id) FROM {MEASUREMENT}), 0) + 1, false)"
        )
        run(f"DROP TABLE {MEASUREMENT}_unpartitioned")
        run(f"ALTER SEQUENCE {MEASUREMENT}_part_id_seq RENAME TO {MEASUREMENT}_id_seq")
        run(f"ALTER SEQUENCE {MEASUREMENT}_id_seq OWNED BY {MEASUREMENT}.id")
        for name, body in _FUNCTIONS.items():
            run(
                f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                f"BEGIN {body} RETURN NULL; END $$"
            )
        for event, transition, function in _TRIGGERS:
            run(
                f"CREATE TRIGGER {MEASUREMENT}_{event.lower()}_rollup AFTER {event} "
                f"ON {MEASUREMENT} REFERENCING {transition} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION {function}()"
            )
        run(_REBUILD)
        # The samples already there, added up as the triggers would have.
        run("SELECT contracts_measurement_rollup_rebuild('-infinity', 'infinity')")


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    run = schema_editor.connection.cursor().execute
    for event, _transition, _function in _TRIGGERS:
        run(f"DROP TRIGGER IF EXISTS {MEASUREMENT}_{event.lower()}_rollup ON {MEASUREMENT}")
    for name in _FUNCTIONS:
        run(f"DROP FUNCTION IF EXISTS {name}()")
    run("DROP FUNCTION IF EXISTS contracts_measurement_partition(date)")
    run("DROP FUNCTION IF EXISTS contracts_measurement_detach(date)")
    run("DROP FUNCTION IF EXISTS contracts_measurement_drop_archived(text)")
    run("DROP FUNCTION IF EXISTS contracts_measurement_rollup_rebuild(timestamptz, timestamptz)")
    run(f"ALTER SEQUENCE {MEASUREMENT}_id_seq OWNED BY NONE")
    run(f"ALTER TABLE {MEASUREMENT} RENAME TO {MEASUREMENT}_partitioned")
    run("ALTER INDEX measurement_cs_key_time_cover RENAME TO measurement_cs_key_time_part")
    run(f"ALTER INDEX {MEASUREMENT}_pkey RENAME TO {MEASUREMENT}_partitioned_pkey")
    run(
        f"""
        CREATE TABLE {MEASUREMENT} (
            id bigint PRIMARY KEY DEFAULT nextval('{MEASUREMENT}_id_seq'),
            contract_service_id bigint NOT NULL
                REFERENCES contracts_contractservice (id) DEFERRABLE INITIALLY DEFERRED,
            key varchar(60) NOT NULL,
            observed_at timestamptz NOT NULL,
            value numeric(20, 6),
            ok boolean
        )
        """
    )
    run(
        f"INSERT INTO {MEASUREMENT} ({COLUMNS}) SELECT {COLUMNS} FROM {MEASUREMENT}_partitioned"
    )
    run(f"DROP TABLE {MEASUREMENT}_partitioned CASCADE")
    run(f"ALTER SEQUENCE {MEASUREMENT}_id_seq OWNED BY {MEASUREMENT}.id")
    run(
        f"CREATE INDEX measurement_cs_key_time_cover ON {MEASUREMENT} "
        "(contract_service_id, key, observed_at) INCLUDE (value, ok)"
    )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0009_service_level_chronic_failure"),
    ]

    operations = [
        migrations.CreateModel(
            name="MeasurementRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.SlugField(db_index=False, max_length=60)),
                ("hour", models.DateTimeField()),
                ("samples", models.BigIntegerField(default=0)),
                ("judged", models.BigIntegerField(default=0, help_text="Samples that say ok or not.")),
                ("ok_count", models.BigIntegerField(default=0)),
                ("valued", models.BigIntegerField(default=0, help_text="Samples with a value.")),
                ("value_sum", models.DecimalField(decimal_places=6, default=0, max_digits=38)),
                ("value_min", models.DecimalField(decimal_places=6, max_digits=20, null=True)),
                ("value_max", models.DecimalField(decimal_places=6, max_digits=20, null=True)),
                ("contract_service", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="contracts.contractservice")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("contract_service", "key", "hour"), name="measurement_rollup_hour")],
            },
        ),
        migrations.CreateModel(
            name="ThresholdRollup",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("key", models.SlugField(db_index=False, max_length=60)),
                ("hour", models.DateTimeField()),
                ("comparator", models.CharField(max_length=3)),
                ("threshold", models.DecimalField(decimal_places=6, max_digits=20)),
                ("valued", models.BigIntegerField(default=0)),
                ("meeting", models.BigIntegerField(default=0)),
                ("complete", models.BooleanField(default=True)),
                ("contract_service", models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name="+", to="contracts.contractservice")),
            ],
            options={
                "constraints": [models.UniqueConstraint(fields=("contract_service", "key", "hour", "comparator", "threshold"), name="threshold_rollup_hour")],
            },
        ),
        migrations.CreateModel(
            name="SettledThrough",
            fields=[
                ("contract", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="+", serialize=False, to="contracts.contract")),
                ("through", models.DateField()),
                ("start_date", models.DateField()),
                ("settlement_period", models.CharField(max_length=10)),
            ],
        ),
        migrations.RunPython(partition, unpartition),
    ]
