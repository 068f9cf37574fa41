from django.db import migrations, models


def _field(help_text: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(blank=True, null=True, help_text=help_text)


BREACHES = "Chronic failure: this many breaches within the window; empty for none."
WINDOW = "Chronic failure: the window, in consecutive settlement periods."


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0008_contract_claim_window"),
    ]

    operations = [
        migrations.AddField(
            model_name="servicelevel", name="chronic_breaches", field=_field(BREACHES)
        ),
        migrations.AddField(model_name="servicelevel", name="chronic_window", field=_field(WINDOW)),
        migrations.AddField(
            model_name="historicalservicelevel", name="chronic_breaches", field=_field(BREACHES)
        ),
        migrations.AddField(
            model_name="historicalservicelevel", name="chronic_window", field=_field(WINDOW)
        ),
    ]
