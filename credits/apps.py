from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Credits and settlement"

    def ready(self) -> None:
        # Imported here: models (and the contracts app) must be loaded first.
        from contracts import hooks
        from contracts.signals import lapse_recorded
        from credits.contract_pages import SettlementOnContractPages
        from credits.receivers import announce_lapse

        lapse_recorded.connect(announce_lapse, dispatch_uid="credits.announce_lapse")
        hooks.plug(SettlementOnContractPages())
        # Every process registers the tasks, not only workers: notify enqueues them by
        # name, and eager mode (tests, development) runs in place only a task it knows.
        from credits import tasks  # noqa: F401
