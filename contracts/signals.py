"""Events of the contracts app that other apps act on.

Each is sent inside the transaction that stores the change (with ``lapse=``); a
receiver's writes commit or roll back with it.

- ``lapse_recorded``: a new responsibility lapse;
- ``lapse_contested``: the customer contested a lapse the provider recorded;
- ``lapse_resolved``: the provider kept or withdrew a contested lapse (a withdrawn one
  relieves nothing, so the closed periods it touched are settled again).
"""

from django.dispatch import Signal

lapse_recorded = Signal()
lapse_contested = Signal()
lapse_resolved = Signal()
