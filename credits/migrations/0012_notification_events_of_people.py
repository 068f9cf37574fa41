"""New events: lapses contested and decided, members joining, daily digests, webhook tests."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("credits", "0011_statement_line_tickets"),
    ]

    operations = [
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.CharField(
                choices=[
                    ("statement_issued", "Statement issued"),
                    ("dispute_opened", "Dispute opened"),
                    ("dispute_resolved", "Dispute resolved"),
                    ("lapse_recorded", "Responsibility lapse recorded"),
                    ("early_warning", "Early warning"),
                    ("no_data", "No data for an objective"),
                    ("lapse_contested", "Responsibility lapse contested"),
                    ("lapse_resolved", "Contested lapse kept or withdrawn"),
                    ("member_joined", "Invitation accepted"),
                    ("digest", "Daily digest"),
                    ("webhook_test", "Webhook test"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="notification",
            name="event",
            field=models.CharField(
                choices=[
                    ("statement_issued", "Statement issued"),
                    ("dispute_opened", "Dispute opened"),
                    ("dispute_resolved", "Dispute resolved"),
                    ("lapse_recorded", "Responsibility lapse recorded"),
                    ("early_warning", "Early warning"),
                    ("no_data", "No data for an objective"),
                    ("lapse_contested", "Responsibility lapse contested"),
                    ("lapse_resolved", "Contested lapse kept or withdrawn"),
                    ("member_joined", "Invitation accepted"),
                    ("digest", "Daily digest"),
                    ("webhook_test", "Webhook test"),
                ],
                max_length=20,
            ),
        ),
    ]
