"""Browser forms of the integrations."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from integrations.services.openslo import MAX_DOCUMENT_BYTES


class OpenSLOImportForm(forms.Form):
    contract = forms.ModelChoiceField(
        queryset=None,
        required=False,
        empty_label="No contract: service-level objectives for every contract",
        help_text="With a contract, each SLO becomes an objective of that contract's service.",
    )
    document = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 16, "spellcheck": "false"}),
        required=False,
        label="OpenSLO YAML",
    )
    upload = forms.FileField(required=False, label="…or a YAML file")

    def __init__(self, *args: Any, contracts: QuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["contract"].queryset = contracts.order_by("reference")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        upload = data.get("upload")
        text = data.get("document") or ""
        if upload is not None:
            if upload.size > MAX_DOCUMENT_BYTES:
                self.add_error("upload", "The file is larger than 1 MB.")
                return data
            try:
                text = upload.read().decode("utf-8")
            except UnicodeDecodeError:
                self.add_error("upload", "The file is not UTF-8 text.")
                return data
        if not text.strip():
            self.add_error("document", "Paste an OpenSLO document or choose a file.")
        elif "\x00" in text:
            self.add_error("document", "The document cannot contain NUL characters.")
        data["text"] = text
        return data
