from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations (Alertmanager, Prometheus, OpenSLO, ticket systems)"

    def ready(self) -> None:
        # Imported here: models (and the contracts app) must be loaded first. Every process
        # registers the tasks, not only workers: eager mode (tests, development) runs in
        # place only a task it knows.
        from contracts import hooks
        from integrations import tasks  # noqa: F401
        from integrations.contract_pages import PrometheusFeeds

        hooks.plug_feeds(PrometheusFeeds())
