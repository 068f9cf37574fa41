from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Contracts and service levels"

    def ready(self) -> None:
        from contracts.l10n import active_locale
        from engine import l10n

        # The engine writes its sentences and figures in the reader's language.
        l10n.install(active_locale)
