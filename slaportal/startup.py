"""Loads the settings once at process start so that bad configuration ends in one line."""

import sys

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def load_settings_or_exit() -> None:
    try:
        settings.INSTALLED_APPS  # noqa: B018 - touching it imports and validates settings
    except ImproperlyConfigured as exc:
        sys.stderr.write(f"slaportal: configuration error: {exc}\n")
        sys.exit(2)
