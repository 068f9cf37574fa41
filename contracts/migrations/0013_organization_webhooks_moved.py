"""An organisation's single webhook moved to people.Webhook (several per organisation,
copied there by people 0004): the organisation's own fields go."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("contracts", "0012_rollups_without_foreign_key_checks"),
        ("people", "0004_webhooks_from_organizations"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name="organization",
            name="organization_webhook_format_valid",
        ),
        migrations.RemoveField(model_name="historicalorganization", name="webhook_format"),
        migrations.RemoveField(model_name="historicalorganization", name="webhook_secret"),
        migrations.RemoveField(model_name="historicalorganization", name="webhook_url"),
        migrations.RemoveField(model_name="organization", name="webhook_format"),
        migrations.RemoveField(model_name="organization", name="webhook_secret"),
        migrations.RemoveField(model_name="organization", name="webhook_url"),
    ]
