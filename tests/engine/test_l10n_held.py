"""engine.l10n.held: a locale held for a stretch of work is what the engine writes in,
whatever the host would answer, and only within."""

from __future__ import annotations

from decimal import Decimal

from engine import l10n
from engine.text import format_money

COMMA = l10n.Locale(code="xx", decimal_separator=",", thousand_separator=".")


def test_a_held_locale_is_current_within_and_only_within():
    asked = []

    def provider() -> l10n.Locale:
        asked.append(1)
        return l10n.ENGLISH

    previous = l10n._provider
    l10n.install(provider)
    try:
        assert l10n.current() is l10n.ENGLISH
        with l10n.held(COMMA):
            asked.clear()
            assert l10n.current() is COMMA
            with l10n.held(l10n.ENGLISH):
                assert l10n.current() is l10n.ENGLISH
            assert l10n.current() is COMMA
            assert asked == []  # the host is not asked while a locale is held
        assert l10n.current() is l10n.ENGLISH
        assert asked == [1]
    finally:
        l10n.install(previous)


def test_figures_written_while_held_use_its_separators():
    with l10n.held(COMMA):
        assert format_money(Decimal("3000"), "EUR") == "3.000,00 EUR"
    assert format_money(Decimal("3000"), "EUR") == "3,000.00 EUR"
