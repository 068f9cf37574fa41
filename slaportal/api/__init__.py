"""The base pieces of the REST API, shared by every app's resources.

- ``viewsets``: the one base viewset; every resource reads from
  ``Model.objects.visible_to(user)`` and writes only on ``editable_by(user)``;
- ``permissions``: who may create and change, decided by ``contracts.querysets``;
- ``serializers``: model serializers validated by the model's ``full_clean()``;
- ``fields``: scoped foreign keys, plain decimals and money;
- ``errors``: the error bodies and the exception handler (no 500 for bad input);
- ``schema``, ``pagination``, ``parsers``; ``views``: the root and the token exchange;
- ``middleware``: ``Cache-Control: no-store`` on every response under /api/.

Nothing is imported here: DRF's settings import ``parsers`` while DRF's own views are
still loading, so importing this package must not import views or generics.
"""
