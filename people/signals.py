"""Events of the people app that other apps act on.

``member_joined`` is sent inside the transaction in which an invitation is accepted
(with ``invitation=``); a receiver's writes commit or roll back with it.
"""

from django.dispatch import Signal

member_joined = Signal()
