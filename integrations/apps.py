from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (Alertmanager, Prometheus, OpenSLO, ticket systems)"

    def ready(self) -> None:
        # Every process registers the tasks, not only workers: eager mode (tests,
        # development) runs in place only a task it knows.
        from integrations import tasks  # noqa: F401
