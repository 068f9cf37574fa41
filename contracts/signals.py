"""Events of the contracts app that other apps act on.

``lapse_recorded`` is sent inside the transaction that stores a new responsibility lapse
(with ``lapse=``); a receiver's writes commit or roll back with it.
"""

from django.dispatch import Signal

lapse_recorded = Signal()
