"""How far each contract's periods are settled without a gap: where the sweep starts."""

from __future__ import annotations

from django.db import models

from contracts.models.contracts import Contract


class SettledThrough(models.Model):
    """Every period of the contract up to ``through`` has a statement (statements are never
    deleted, so it only moves forward): the sweep looks for due periods after it, and its
    cost does not grow with the contract's age. Valid while the contract keeps the start
    date and period kind it was computed with (a changed one starts the count again)."""

    contract = models.OneToOneField(
        Contract, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    through = models.DateField()
    start_date = models.DateField()
    settlement_period = models.CharField(max_length=10)

    def __str__(self) -> str:
        return f"contract {self.contract_id} settled through {self.through}"
