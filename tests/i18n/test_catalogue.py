"""The German catalogue is complete and its committed .mo is what the .po says (read with
polib: no gettext tools at test time)."""

from __future__ import annotations

from pathlib import Path

import polib
from django.conf import settings

MESSAGES = Path(settings.BASE_DIR) / "locale" / "de" / "LC_MESSAGES"


def _translations(catalogue) -> dict[tuple[str | None, str, str], object]:
    found = {}
    for entry in catalogue:
        if entry.obsolete or "fuzzy" in entry.flags or not entry.msgid:
            continue
        if entry.msgid_plural:
            forms = tuple(entry.msgstr_plural[n] for n in sorted(entry.msgstr_plural))
            if all(forms):
                found[(entry.msgctxt or None, entry.msgid, entry.msgid_plural)] = forms
        elif entry.msgstr:
            found[(entry.msgctxt or None, entry.msgid, "")] = entry.msgstr
    return found


def test_every_german_text_is_translated_and_none_is_fuzzy():
    po = polib.pofile(str(MESSAGES / "django.po"))
    assert "nplurals=2" in po.metadata["Plural-Forms"]
    assert [entry.msgid for entry in po.untranslated_entries()] == []
    assert [entry.msgid for entry in po.fuzzy_entries()] == []


def test_the_committed_mo_holds_exactly_the_po_translations():
    po = polib.pofile(str(MESSAGES / "django.po"))
    mo = polib.mofile(str(MESSAGES / "django.mo"))
    translations = _translations(po)
    assert translations
    assert _translations(mo) == translations
