"""How the portal shows that it is healthy and what it is doing: ``/healthz`` (health),
``/metrics`` (Prometheus), structured logs and Sentry. See docs/deploy.md."""
