from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "people"
    verbose_name = "People"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from people import preferences
        from people.timezones import on_login

        user_logged_in.connect(on_login, dispatch_uid="people.viewer_timezone")
        user_logged_in.connect(preferences.on_login, dispatch_uid="people.language")
