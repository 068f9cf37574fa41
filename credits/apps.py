from django.apps import AppConfig


class CreditsConfig(AppConfig):
    name = "credits"
    verbose_name = "Credits and settlement"

    def ready(self) -> None:
        # Imported here: models (and the contracts app) must be loaded first.
        from contracts import hooks
        from contracts.signals import lapse_contested, lapse_recorded, lapse_resolved
        from credits import receivers
        from credits.contract_pages import SettlementOnContractPages
        from people.signals import member_joined

        lapse_recorded.connect(receivers.announce_lapse, dispatch_uid="credits.announce_lapse")
        lapse_contested.connect(
            receivers.announce_lapse_contest, dispatch_uid="credits.announce_lapse_contest"
        )
        lapse_resolved.connect(
            receivers.settle_after_lapse_decision, dispatch_uid="credits.lapse_decision"
        )
        member_joined.connect(receivers.announce_member, dispatch_uid="credits.announce_member")
        hooks.plug(SettlementOnContractPages())
        # Every process registers the tasks, not only workers: notify enqueues them by
        # name, and eager mode (tests, development) runs in place only a task it knows.
        from credits import tasks  # noqa: F401
