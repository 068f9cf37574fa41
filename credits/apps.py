from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Credits and settlement"

    def ready(self) -> None:
        # Every process registers the tasks, not only workers: notify enqueues them by
        # name, and eager mode (tests, development) runs in place only a task it knows.
        from credits import tasks  # noqa: F401
