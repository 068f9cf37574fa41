"""The language the engine writes in, supplied by its host.

The engine is pure (it imports nothing of Django), yet its sentences and figures must read
in the reader's language. The host installs a provider (:func:`install`; the portal's is
``contracts.l10n``) that answers the :class:`Locale` of the moment: its translations and
how it writes numbers and days. Without one, or for English, the engine writes English as
it always did.

The engine marks its own texts with :func:`gettext`, :func:`ngettext` and :func:`pgettext`:
the names ``makemessages`` looks for, so that the portal's catalogue keeps them; texts kept
as they are and translated where they are read are marked with :func:`gettext_noop` and
:func:`ngettext_noop`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

_ENGLISH_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def _identity(message: str) -> str:
    return message


def _identity_plural(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


def _identity_context(context: str, message: str) -> str:
    return message


@dataclass(frozen=True)
class Locale:
    """How one language writes: separators of numbers, names of months, a day and a
    moment, and its translations. The defaults are the engine's English."""

    code: str = "en"
    decimal_separator: str = "."
    thousand_separator: str = ","
    month_names: tuple[str, ...] = _ENGLISH_MONTHS
    month_abbreviations: tuple[str, ...] = tuple(name[:3] for name in _ENGLISH_MONTHS)
    # A day with its month ("2 Dec"; German "2. Dez."), and a day alone before a dash
    # ("16–22 Nov"; German "16.–22. Nov.").
    day_month: str = "{day} {month}"
    day_alone: str = "{day}"
    # An instant (strftime), without its zone.
    moment: str = "%Y-%m-%d %H:%M"
    translate: Callable[[str], str] = field(default=_identity, compare=False)
    translate_plural: Callable[[str, str, int], str] = field(
        default=_identity_plural, compare=False
    )
    translate_context: Callable[[str, str], str] = field(default=_identity_context, compare=False)

    @property
    def writes_numbers_as_english(self) -> bool:
        return (self.decimal_separator, self.thousand_separator) == (".", ",")


ENGLISH = Locale()


def _english() -> Locale:
    return ENGLISH


_provider: Callable[[], Locale] = _english


def install(provider: Callable[[], Locale]) -> None:
    """Let ``provider`` answer the locale of the moment (the host's active language)."""
    global _provider
    _provider = provider


_held: ContextVar[Locale | None] = ContextVar("engine_l10n_held", default=None)


def current() -> Locale:
    """The locale the engine writes in now."""
    return _held.get() or _provider()


@contextmanager
def held(locale: Locale) -> Iterator[None]:
    """Write in ``locale`` within, without asking the host each time: for work that writes
    many figures in one language it has made active (a batch of notices writes ~40 per
    statement, and asking costs the host a context-local lookup each time)."""
    token = _held.set(locale)
    try:
        yield
    finally:
        _held.reset(token)


def gettext(message: str) -> str:
    """``message`` in the current language."""
    return current().translate(message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural form for ``count``, in the current language."""
    return current().translate_plural(singular, plural, count)


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language, told apart from the same words elsewhere by
    ``context``."""
    return current().translate_context(context, message)


def gettext_noop(message: str) -> str:
    """``message`` unchanged: marks a message that is kept as it is (in English) and
    translated only where it is read (:mod:`engine.phrases`)."""
    return message


def ngettext_noop(singular: str, plural: str) -> tuple[str, str]:
    """Both forms unchanged: marks a plural message kept as it is, like :func:`gettext_noop`
    (``makemessages`` reads the keyword ``ngettext_noop:1,2``, see
    ``contracts/management/commands/makemessages.py``)."""
    return singular, plural
