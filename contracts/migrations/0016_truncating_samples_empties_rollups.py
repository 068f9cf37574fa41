# The rollups follow every INSERT, UPDATE and DELETE of the samples through statement
# triggers; TRUNCATE fires none of those, so a table of samples emptied by TRUNCATE (an
# operator's clean-up, a benchmark's fresh book) left its rollups counting samples that were
# gone, and settlement read them. A TRUNCATE trigger empties the rollups with the samples.

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION contracts_measurement_truncate_rollups() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- DELETE, not TRUNCATE: a TRUNCATE of several tables at once (Django's flush) holds
    -- the rollups too, and a TRUNCATE of them inside it would find them in use.
    DELETE FROM contracts_measurementrollup;
    DELETE FROM contracts_thresholdrollup;
    RETURN NULL;
END $$;
CREATE TRIGGER contracts_measurement_truncate_rollups AFTER TRUNCATE ON contracts_measurement
FOR EACH STATEMENT EXECUTE FUNCTION contracts_measurement_truncate_rollups();
"""

DROP = """
DROP TRIGGER IF EXISTS contracts_measurement_truncate_rollups ON contracts_measurement;
DROP FUNCTION IF EXISTS contracts_measurement_truncate_rollups();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0015_hour_meeting_function"),
    ]

    operations = [migrations.RunPython(create, drop)]
