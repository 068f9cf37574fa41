"""The engine's locale (:mod:`engine.l10n`) from Django's: the active language's
separators (``django.utils.formats``), month names (``django.utils.dates``, translated by
Django's own catalogue) and the portal's translations.

English keeps the engine's own writing (``"2 Dec 2026"``, ``"2026-12-02 04:25"``), which
pages, e-mails and tests have always shown; German writes ``"2. Dez. 2026"``,
``"02.12.2026 04:25"`` and ``"1.234,56"``.
"""

from __future__ import annotations

from functools import cache

from django.utils import formats, translation
from django.utils.dates import MONTHS, MONTHS_AP

from engine.l10n import ENGLISH, Locale


@cache
def _locale(code: str) -> Locale:
    # Called with ``code`` active: the lazy month names and the formats are read in it.
    if code.split("-")[0] == "en":
        return Locale(
            code=code,
            translate=translation.gettext,
            translate_plural=translation.ngettext,
            translate_context=translation.pgettext,
        )
    return Locale(
        code=code,
        decimal_separator=str(formats.get_format("DECIMAL_SEPARATOR", code)),
        thousand_separator=str(formats.get_format("THOUSAND_SEPARATOR", code)),
        month_names=tuple(str(MONTHS[month]) for month in range(1, 13)),
        month_abbreviations=tuple(str(MONTHS_AP[month]) for month in range(1, 13)),
        day_month="{day}. {month}",
        day_alone="{day}.",
        moment="%d.%m.%Y %H:%M",
        translate=translation.gettext,
        translate_plural=translation.ngettext,
        translate_context=translation.pgettext,
    )


def active_locale() -> Locale:
    """The locale of the active language (the site's when none is active)."""
    code = translation.get_language()
    if not code:
        return ENGLISH
    return _locale(code)
