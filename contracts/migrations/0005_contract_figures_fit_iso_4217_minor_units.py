"""Minor units now come from ISO 4217 rather than CLDR's locale data: check that every
existing contract still prices in a currency with a minor unit, and that its fees are
written within that unit, so that no figure changes. (Statements carry their contract's
currency, and no code with a minor unit in both lists has fewer places in ISO 4217.)

Nothing is rewritten: if a contract would lose a figure, the migration stops and names it.
"""

from decimal import Decimal

from django.db import migrations

import engine


def _places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def check_figures(apps, schema_editor):
    Contract = apps.get_model("contracts", "Contract")
    ContractService = apps.get_model("contracts", "ContractService")
    problems = []
    for contract_id, reference, currency in Contract.objects.values_list(
        "pk", "reference", "currency"
    ):
        if not engine.is_currency(currency):
            problems.append(f"{reference} ({contract_id}): {currency} has no ISO 4217 minor unit")
            continue
        places = engine.minor_units(currency)
        for fee in ContractService.objects.filter(contract_id=contract_id).values_list(
            "fee", flat=True
        ):
            if _places(fee) > places:
                problems.append(
                    f"{reference} ({contract_id}): fee {fee} has more than {places} decimals"
                )
    if problems:
        raise RuntimeError(
            "These contracts would change figures under ISO 4217 minor units; fix them first: "
            + "; ".join(sorted(set(problems)))
        )


class Migration(migrations.Migration):
    dependencies = [("contracts", "0005_organization_introduced_by")]

    operations = [migrations.RunPython(check_figures, migrations.RunPython.noop, elidable=True)]
