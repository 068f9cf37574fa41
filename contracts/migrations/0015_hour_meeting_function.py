# A threshold objective's count of one hour read from its samples, behind a function: as a
# subquery of settlement's rollup query its plan (an Append over every month partition) made
# the planner cost the whole query high enough to JIT-compile it, which took longer than
# the query itself on a book of five years. A plpgsql function is planned on its own, with
# the hour known, so that only the hour's partition is read.

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION contracts_measurement_hour_meeting(
    p_cs bigint, p_key text, p_hour timestamptz, p_cmp text, p_thr numeric
) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT count(*) FROM contracts_measurement m
            WHERE m.contract_service_id = p_cs AND m.key = p_key
              AND m.observed_at >= p_hour AND m.observed_at < p_hour + interval '1 hour'
              AND CASE p_cmp WHEN 'gte' THEN m.value >= p_thr ELSE m.value <= p_thr END);
END $$
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "DROP FUNCTION IF EXISTS contracts_measurement_hour_meeting"
                "(bigint, text, timestamptz, text, numeric)"
            )


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0014_organization_timezone"),
    ]

    operations = [migrations.RunPython(create, drop)]
