"""Existing webhook deliveries join the log of the Webhook they went to (apart from the
schema change: updating rows and altering the table in one transaction is refused)."""

from django.db import migrations


def link_webhook_deliveries(apps, schema_editor):
    """The log of each organisation's former single webhook becomes its Webhook's."""
    Delivery = apps.get_model("credits", "Delivery")
    Webhook = apps.get_model("people", "Webhook")
    for webhook in Webhook.objects.only("pk", "organization_id", "url"):
        Delivery.objects.filter(
            channel="webhook", organization_id=webhook.organization_id, recipient=webhook.url
        ).update(webhook=webhook)


class Migration(migrations.Migration):
    dependencies = [("credits", "0017_delivery_per_webhook")]

    operations = [migrations.RunPython(link_webhook_deliveries, migrations.RunPython.noop)]
