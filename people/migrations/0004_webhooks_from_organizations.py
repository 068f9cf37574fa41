"""Each organisation's single webhook (Organization.webhook_url, secret and format)
becomes its first Webhook, receiving every event as before."""

from django.db import migrations


def copy_webhooks(apps, schema_editor):
    Organization = apps.get_model("contracts", "Organization")
    Webhook = apps.get_model("people", "Webhook")
    Webhook.objects.bulk_create(
        [
            Webhook(
                organization_id=org.pk,
                url=org.webhook_url,
                secret=org.webhook_secret,
                format=org.webhook_format or "json",
                topics=[],
            )
            for org in Organization.objects.exclude(webhook_url="").only(
                "pk", "webhook_url", "webhook_secret", "webhook_format"
            )
        ],
        ignore_conflicts=True,
    )


def copy_back(apps, schema_editor):
    # Backwards: an organisation keeps its first webhook as its single one.
    Organization = apps.get_model("contracts", "Organization")
    Webhook = apps.get_model("people", "Webhook")
    for webhook in Webhook.objects.order_by("organization_id", "-id"):
        Organization.objects.filter(pk=webhook.organization_id).update(
            webhook_url=webhook.url, webhook_secret=webhook.secret, webhook_format=webhook.format
        )


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0003_webhooks"),
        # The organisation's webhook fields as they last were (format included).
        ("contracts", "0007_kept_ticket_clocks"),
    ]

    operations = [migrations.RunPython(copy_webhooks, copy_back)]
